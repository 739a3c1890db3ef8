"""Orders made directly in the database at chosen moments, for the report tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from catalog.models import Service
from orders.models import Order, OrderStatus
from providers.models import Provider
from tests.factories import PlainServiceFactory, a_provider

MONTH = date(2026, 3, 1)  # every order below is placed in March 2026 unless told otherwise


def an_order(
    service: Service,
    status: str = OrderStatus.COMPLETED,
    estimate: str = "1.00",
    *,
    day: int = 10,
    month: date = MONTH,
    **extra: object,
) -> Order:
    charge = extra.pop("charge", None)
    return Order.objects.create(
        provider=service.provider,
        service=service,
        link="https://instagram.com/p/a",
        quantity=extra.pop("quantity", 100),
        estimated_charge=Decimal(estimate),
        charge=None if charge is None else Decimal(charge),
        status=status,
        created_at=datetime(month.year, month.month, day, 12, 0, tzinfo=UTC),
        **extra,
    )


@pytest.fixture
def provider(db) -> Provider:
    return a_provider("Alpha")


@pytest.fixture
def service(provider) -> Service:
    return PlainServiceFactory(provider=provider)
