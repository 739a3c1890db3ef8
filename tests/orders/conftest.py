"""The order suites' fixtures: orders the sandbox has taken, and the calls that reach the panel."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db.models import F

from catalog.models import Service
from orders.models import Order
from orders.services.tracking import orders_poll_round
from providers.client import sandbox as client_sandbox
from providers.sandbox.clock import FrozenClock
from providers.sandbox.protocol import request_params
from providers.sandbox.views import api_v2
from team.models import Campaign


@pytest.fixture(autouse=True)
def _sandbox_settings(order_settings) -> None:
    """Every test here orders from the sandbox, on the settings of the order tests."""


# The sandbox answers from another thread (in process) or a server thread (live_server): both
# must see what a test committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finish(open_orders, clock):
    """`finish(service, n)`: orders the sandbox completed, polled by us (their windows open)."""

    def make(
        service: Service, count: int, *, first: int = 1, campaign: Campaign | None = None
    ) -> list[Order]:
        orders = open_orders(service, count, first=first)
        if campaign is not None:
            Order.objects.filter(pk__in=[o.pk for o in orders]).update(campaign=campaign)
        clock.advance(simulated=True, hours=3)
        orders_poll_round(ids=[o.pk for o in orders])
        return list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("service", "provider"))

    return make


def days_ago(orders: list[Order], days: float, clock: FrozenClock | None = None) -> list[Order]:
    """As if our orders completed `days` ago (and, if given, the panel's clock moved that far)."""
    shift = timedelta(days=days)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        finished_at=F("finished_at") - shift, refill_until=F("refill_until") - shift
    )
    if clock is not None:
        clock.advance(simulated=True, days=days)
    return list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("service", "provider"))


@pytest.fixture
def thirty_days(catalog) -> Service:
    """Instagram followers with a 30-day refill guarantee."""
    return catalog("Default", name__contains="[Refill: 30D]", category__startswith="Instagram Followers")


@dataclass
class PanelCalls:
    """What reached the sandbox: one (action, number of ids) per request."""

    calls: list[tuple[str, int]] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for name, _ in self.calls if name == action)


@pytest.fixture
def panel_calls(monkeypatch) -> PanelCalls:
    """Count the requests that reach the in-process sandbox (the panel itself is not replaced)."""
    record = PanelCalls()
    lock = threading.Lock()

    def counting(request):
        params = request_params(request)
        ids = params.get("orders") or params.get("refills") or ""
        with lock:
            record.calls.append((params.get("action", ""), len([i for i in ids.split(",") if i])))
        return api_v2(request)

    monkeypatch.setattr(client_sandbox, "sandbox_view", lambda: counting)
    return record
