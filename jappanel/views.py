from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jappanel.access import allowed, has_role, may
from jappanel.health import readiness
from jappanel.heartbeat import heartbeat_states
from jappanel.providers.models import Provider
from orders.filters import (
    awaiting_decision_of,
    decisions_for,
    needing_attention,
    open_by_status,
    recent_orders,
    spend_by_window,
    spend_per_day,
)


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: no database, no broker, so a slow dependency never restarts web."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
@login_not_required
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "error", **checks}, status=200 if ready else 503)


@allowed("view_orders")
def dashboard(request: HttpRequest) -> HttpResponse:
    providers = list(Provider.objects.order_by("-active", "name"))
    stopped = [state for state in heartbeat_states().values() if not state.alive]
    days = spend_per_day()
    context = {
        "providers": providers,
        "stopped": stopped,
        "currency": providers[0].currency if providers else "USD",
        "spend_days": days,
        "spend": spend_by_window(days),
        "open_statuses": open_by_status(),
        "attention": needing_attention(),
        "recent": recent_orders(),
        "mine_waiting": decisions_for(request.user),
        "to_decide": awaiting_decision_of(request.user) if may(request.user, "approve_order") else None,
    }
    return render(request, "dashboard.html", context)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page: why, and the way back; for htmx, one short message to swap in."""
    user = request.user
    context = {"no_role": user.is_authenticated and not has_role(user)}
    if not getattr(request, "htmx", False):
        return render(request, "403.html", context, status=403)
    response = render(request, "403.html#message", context, status=403)
    # Above the page's content, whatever region the refused request meant to replace.
    response["HX-Retarget"] = "main.content"
    response["HX-Reswap"] = "afterbegin"
    return response
