"""On a phone (390 × 844): the approver hears of a waiting order from the bell, approves it
from the order page, and the buyer's bell tells them, neither page ever reloaded."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order, OrderStatus
from tests.factories import person
from tests.orders.test_browser import fast, sandbox, service  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(signed_in, settings) -> Callable[[str], Page]:
    """Sign a person in on a phone-sized browser of their own."""
    settings.NOTIFY_BELL_SECONDS = 1  # the bell looks every second: the test waits for what it shows
    return lambda username: signed_in(username, viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.mark.usefixtures("sandbox")
def test_the_approval_walks_from_the_bell_to_the_decision_on_a_phone(phone):
    person("buyer", "Buyer")
    person("approver", "Approver")
    approver = phone("approver")
    buyer = phone("buyer")
    approver.evaluate("window.stillTheSamePage = true")
    expect(approver.locator("#bell")).to_have_attribute("aria-label", "Notifications")

    buyer.goto(f"/orders/new/?service={service('Instagram Followers [Refill: 30D]').pk}")
    buyer.get_by_label("Link").fill("https://instagram.com/p/big-launch")
    buyer.get_by_label("Quantity").fill("2000")
    # Sent from the keyboard: the phone layout of the order form is another change's.
    buyer.get_by_label("Quantity").press("Enter")
    buyer.wait_for_url(re.compile(r"/orders/[A-Z0-9]{10}/$"))
    code = buyer.url.rstrip("/").rsplit("/", 1)[1]
    assert Order.objects.get(code=code).status == OrderStatus.AWAITING_APPROVAL
    buyer.evaluate("window.stillTheSamePage = true")

    # The approver's bell shows it without a reload.
    expect(approver.locator("#bell .badge")).to_have_text("1")
    assert approver.evaluate("window.stillTheSamePage") is True

    approver.locator("#bell").click()
    approver.wait_for_url("**/notifications/")
    approver.get_by_role("link", name=re.compile(f"Order {code} .* waits for approval")).click()
    approver.wait_for_url(f"**/orders/{code}/")
    approve = approver.get_by_role("button", name="Approve")
    box = approve.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    approve.click()
    expect(approver.locator("#order-status")).not_to_have_text(re.compile("Waiting for approval"))

    # The buyer's bell, on the page they placed it from, tells them the decision.
    expect(buyer.locator("#bell .badge")).to_have_text("1")
    assert buyer.evaluate("window.stillTheSamePage") is True
    buyer.locator("#bell").click()
    expect(buyer.get_by_role("link", name=f"Order {code} was approved")).to_be_visible()
    # Opened, it is read: the approver's bell is quiet again.
    expect(approver.locator("#bell .badge")).to_have_count(0)
