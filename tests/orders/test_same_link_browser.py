"""A second order on a link with an open order, in real headless Chromium with a real worker."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order, OrderStatus
from providers.sandbox.models import Order as SandboxOrder

# The fixtures of the orders' browser tests, shared rather than copied.
from tests.orders.test_browser import FINISHED, fast, place, sandbox, service  # noqa: F401
from tests.orders.test_browser import panel as panel  # noqa: F401
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def order_followers(page: Page, link: str) -> str:
    followers = service("Instagram Followers [Refill: 30D]")
    page.goto(f"/orders/new/?service={followers.pk}")
    expect(page.locator("#order-form h2")).to_have_text(followers.name)
    page.get_by_label("Quantity").fill("500")
    return place(page, {"Link": link})


def test_a_second_order_on_the_same_link_waits_and_is_sent_after_the_first_completes(logged_in_page, panel):
    page = logged_in_page
    first = order_followers(page, "https://instagram.com/p/samelink")
    expect(page.locator("#order-status")).to_have_text("Pending")

    second = order_followers(page, "https://www.instagram.com/p/samelink/?igshid=abc")

    expect(page.locator("#order-status")).to_have_text("Waiting for the link")
    ahead = page.locator("#link-wait").get_by_role("link", name=first)
    expect(ahead).to_have_attribute("href", f"/orders/{first}/")
    expect(page.locator(".timeline")).to_contain_text(f"Waits behind {first}")
    assert SandboxOrder.objects.count() == 1

    page.evaluate("window.stillTheSamePage = true")
    panel.finish(first)

    # Sent by itself once the first completed, without a reload.
    expect(page.locator("#order-status")).to_have_text("Pending")
    assert page.evaluate("window.stillTheSamePage") is True
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Waiting behind an open order on the same link")
    expect(timeline).to_contain_text(re.compile(rf"{first} is (completed|partial): the link is free"))
    expect(timeline).to_contain_text("Accepted by the provider")
    assert SandboxOrder.objects.count() == 2
    assert wait_for(lambda: Order.objects.get(code=second).status == OrderStatus.PENDING)

    panel.finish(second)
    expect(page.locator("#order-status")).to_have_text(FINISHED)
