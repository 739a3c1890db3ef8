"""The order suites' fixtures: orders the sandbox has taken, and the calls that reach the panel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Service
from orders.models import Order, OrderStatus
from providers.client import sandbox as client_sandbox
from providers.sandbox.protocol import request_params
from providers.sandbox.services import order_add
from providers.sandbox.views import api_v2
from tests.factories import link


@pytest.fixture(autouse=True)
def _sandbox_settings(order_settings) -> None:
    """Every test here orders from the sandbox, on the settings of the order tests."""


# The sandbox answers from another thread (in process) or a server thread (live_server): both
# must see what a test committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def open_orders(account, sandbox) -> Callable[..., list[Order]]:
    """`open_orders(service, 250)`: orders the sandbox has taken, tracked by us and due now."""

    def make(service: Service, count: int, *, first: int = 1, age: timedelta = timedelta(0)) -> list[Order]:
        now = timezone.now()
        orders = []
        for number in range(first, first + count):
            placed = order_add(
                account=account,
                params={"service": str(service.service_id), "link": link(number), "quantity": "100"},
            )
            orders.append(
                Order(
                    provider=sandbox,
                    service=service,
                    link=link(number),
                    quantity=100,
                    estimated_charge=service.cost(100),
                    status=OrderStatus.PENDING,
                    provider_status="Pending",
                    provider_order_id=placed.pk,
                    submission_token=f"open-{number}",
                    created_at=now - age,
                    submitted_at=now - age,
                    next_check_at=now,
                )
            )
        return Order.objects.bulk_create(orders)

    return make


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

    monkeypatch.setattr(client_sandbox, "_sandbox_view", lambda: counting)
    return record
