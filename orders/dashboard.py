"""The dashboard: balances, spend, open orders, what needs attention and what waits for a decision."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from catalog.changes import changes_digest
from jappanel.heartbeat import heartbeat_states
from jappanel.web.access import allowed, may
from orders.filters import (
    needing_attention,
    open_by_status,
    orders_to_decide,
    own_orders_awaiting_decision,
    recent_orders,
    spend_by_window,
    spend_per_day,
)
from providers.models import Provider


@allowed("view_orders")
def dashboard(request: HttpRequest) -> HttpResponse:
    providers = list(Provider.objects.order_by("-active", "name"))
    stopped = [state for state in heartbeat_states().values() if not state.alive]
    per_currency = spend_per_day(currency_if_none=providers[0].currency if providers else "USD")
    context = {
        "providers": providers,
        "stopped": stopped,
        "spend_days": per_currency,
        "spend": spend_by_window(per_currency),
        "sandbox_left_out": any(provider.is_sandbox for provider in providers),
        "open_statuses": open_by_status(),
        "attention": needing_attention(),
        "recent": recent_orders(),
        "mine_waiting": own_orders_awaiting_decision(request.user),
        "to_decide": orders_to_decide(request.user) if may(request.user, "approve_order") else None,
        "catalog_changes": changes_digest(user=request.user),
    }
    return render(request, "orders/dashboard.html", context)


# Mounted at the site root by jappanel/urls.py.
urlpatterns = [path("", dashboard, name="dashboard")]
