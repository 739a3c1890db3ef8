"""The orders list's "select all" box, in real headless Chromium under the production CSP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Service
from orders.models import Order, OrderStatus
from providers.models import Provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def three_orders() -> list[Order]:
    provider = Provider.objects.get(name="Sandbox")
    service = Service.objects.create(
        provider=provider, service_id=9100, name="Followers", type="Default",
        category="Instagram Followers", rate=Decimal("1"), min_quantity=10, max_quantity=1000,
    )  # fmt: skip
    return [
        Order.objects.create(
            provider=provider,
            service=service,
            link=f"https://instagram.com/p/{n}",
            quantity=100,
            estimated_charge=Decimal("0.1"),
            status=OrderStatus.COMPLETED,
        )  # fmt: skip
        for n in range(3)
    ]


def test_one_box_ticks_every_order_on_the_page_and_shows_when_only_some_are_ticked(logged_in_page):
    orders = three_orders()
    page = logged_in_page
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/orders/")
    every = page.get_by_label("Select every order on this page")
    boxes = [page.get_by_label(f"Select {order.code}") for order in orders]

    every.check()
    for box in boxes:
        expect(box).to_be_checked()
    boxes[1].uncheck()
    expect(every).not_to_be_checked()
    assert every.evaluate("box => box.indeterminate") is True
    boxes[1].check()
    expect(every).to_be_checked()
    every.uncheck()
    for box in boxes:
        expect(box).not_to_be_checked()
    assert errors == []
