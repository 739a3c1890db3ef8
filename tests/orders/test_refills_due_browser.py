"""Refills due in a real browser: orders inside their guarantee refilled in bulk, then followed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Service
from catalog.services import catalog_sync
from orders.models import Order, Refill
from providers.models import Provider
from tests.orders.conftest import days_ago
from tests.orders.test_browser import Panel
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def sandbox(transactional_db, settings, monkeypatch, clock) -> Provider:
    settings.SANDBOX_START_BALANCE = Decimal("1000")
    monkeypatch.setattr("orders.views.LIVE_REFRESH_SECONDS", 1)
    provider = Provider.objects.get(name="Sandbox")
    catalog_sync(provider=provider)
    return provider


@pytest.fixture
def panel(sandbox, clock, celery_worker) -> Panel:
    return Panel(clock)


def test_refills_are_requested_in_bulk_from_the_refills_due_page(logged_in_page, panel, open_orders, clock):
    page = logged_in_page
    followers = Service.objects.get(name__startswith="Instagram Followers [Refill: 30D]", active=True)
    placed = open_orders(followers, 2)
    panel.advance(hours=3)
    ids = [order.pk for order in placed]
    wait_for(lambda: Order.objects.filter(pk__in=ids, refill_until__isnull=False).count() == 2)
    # Completed two days ago for us and for the panel: past the day in which JAP refuses a refill.
    orders = days_ago(list(Order.objects.filter(pk__in=ids)), 2, clock)

    page.goto("/orders/refills/due/")
    rows = page.locator("#due-table tbody tr")
    expect(rows).to_have_count(2)
    for order in orders:
        page.get_by_label(f"Select {order.code}").check()
    page.get_by_role("button", name="Request refill").click()

    expect(page.locator(".messages")).to_contain_text("2 refills requested.")
    expect(page.get_by_role("heading", name="No refill due")).to_be_visible()
    assert Refill.objects.filter(order__in=ids, provider_refill_id__isnull=False).count() == 2

    page.get_by_role("link", name="All refills").click()
    expect(page.locator("#refill-table tbody tr")).to_have_count(2)
    panel.advance(days=1)  # a sandbox refill starts within 2 hours and takes at most 12
    expect(
        page.locator("#refill-table tbody tr").filter(has_text=re.compile("Completed|Rejected"))
    ).to_have_count(2)
