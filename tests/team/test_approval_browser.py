"""An approval in two real browsers: a buyer's large order waits, an approver approves it in a
second browser context, and the order completes on the sandbox while the buyer watches."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from orders.models import Order, OrderStatus
from tests.orders.test_browser import Panel, fast, place, sandbox, service  # noqa: F401 (fixtures)
from tests.team.conftest import PASSWORD, person
from tests.waiting import PATIENCE

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def signed_in(browser: Browser, live_server) -> Iterator[Callable[[str], Page]]:
    """Sign a person in, in a browser context of their own (own cookies, own session)."""
    contexts = []

    def sign_in(username: str) -> Page:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(PATIENCE * 1000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        return page

    yield sign_in
    for context in contexts:
        context.close()


@pytest.fixture
def threshold(settings) -> Decimal:
    settings.APPROVAL_THRESHOLD = Decimal("1.00")
    return settings.APPROVAL_THRESHOLD


@pytest.mark.usefixtures("sandbox", "celery_worker")
def test_a_large_order_waits_until_an_approver_in_another_browser_approves_it_then_completes(
    signed_in, threshold, clock
):
    panel = Panel(clock)
    person("buyer", "Buyer")
    person("approver", "Approver")
    buyer = signed_in("buyer")
    approver = signed_in("approver")
    followers = service("Instagram Followers [Refill: 30D]")
    assert followers.cost(2000) > threshold

    buyer.goto(f"/orders/new/?service={followers.pk}")
    code = place(buyer, {"Link": "https://instagram.com/p/big-launch", "Quantity": "2000"})
    expect(buyer.locator("#order-status")).to_have_text(re.compile("Waiting for approval"))
    order = Order.objects.get(code=code)
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert order.provider_order_id is None  # nothing reached the panel

    # The buyer may not decide on their own order: no buttons, and the server says no.
    expect(buyer.get_by_role("button", name="Approve")).to_have_count(0)

    approver.goto("/")
    waiting = approver.get_by_role("region", name="Waiting for your approval")
    expect(waiting).to_contain_text(code)
    waiting.get_by_role("link", name=code).click()
    approver.wait_for_url(f"**/orders/{code}/")
    approver.get_by_role("button", name="Approve").click()
    expect(approver.locator("#order-status")).not_to_have_text(re.compile("Waiting for approval"))

    # The buyer's page, never reloaded, follows the order through the panel to the end.
    buyer.evaluate("window.stillTheSamePage = true")
    expect(buyer.locator("#order-status")).to_have_text("Pending")
    panel.finish(code)
    expect(buyer.locator("#order-status")).to_have_text(re.compile("Completed|Partial"))
    assert buyer.evaluate("window.stillTheSamePage") is True
    expect(buyer.locator(".timeline")).to_contain_text("approver")

    order.refresh_from_db()
    assert order.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
    assert order.provider_order_id is not None
    assert order.events.filter(kind="approved", user__username="approver").exists()
