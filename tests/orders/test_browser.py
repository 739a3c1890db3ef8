"""Orders as a person places and follows them, in real headless Chromium with a real worker."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from catalog.models import Service
from catalog.services import catalog_sync
from orders.models import Order, OrderStatus, Refill
from orders.tasks import poll_orders, poll_refills
from providers.models import Provider
from providers.sandbox.clock import FrozenClock
from providers.sandbox.models import Order as SandboxOrder
from tests.factories import person
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]

FINISHED = re.compile(r"Completed|Partial")


@pytest.fixture
def fast(settings, monkeypatch) -> None:
    settings.SANDBOX_START_BALANCE = Decimal("1000")
    settings.ORDERS_SUBMIT_BACKOFF_SECONDS = 0.0
    # Pages refresh what is moving every second, so a change shows up soon after it is made.
    monkeypatch.setattr("orders.views.LIVE_REFRESH_SECONDS", 1)


@pytest.fixture
def sandbox(transactional_db, fast, clock) -> Provider:
    provider = Provider.objects.get(name="Sandbox")
    catalog_sync(provider=provider)
    return provider


class Panel:
    """The sandbox as a panel whose time the test moves, polled when the test says (no beat).

    The sandbox's clock stands still: an accepted order stays Pending until the test moves the
    clock, whatever the machine's speed. Polling runs in the worker, as beat would start it.
    """

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    def finish(self, code: str) -> None:
        """Move the panel's clock to when it finishes order `code` (once sent), then poll."""
        order = wait_for(lambda: Order.objects.filter(code=code, provider_order_id__isnull=False).first())
        finishes_at = SandboxOrder.objects.get(pk=order.provider_order_id).finishes_at
        self.clock.at = max(self.clock.at, finishes_at)
        self.poll()

    def advance(self, **simulated: float) -> None:
        """Move the panel's clock by an amount of its (simulated) time, then poll."""
        self.clock.advance(simulated=True, **simulated)
        self.poll()

    @staticmethod
    def poll() -> None:
        now = timezone.now()
        Order.objects.filter(next_check_at__isnull=False).update(next_check_at=now)
        Refill.objects.filter(next_check_at__isnull=False).update(next_check_at=now)
        poll_orders.delay()
        poll_refills.delay()


@pytest.fixture
def panel(sandbox, clock, celery_worker) -> Panel:
    return Panel(clock)


def service(name: str) -> Service:
    return Service.objects.filter(name__startswith=name, active=True).order_by("pk").first()


def place(page: Page, fields: dict[str, str]) -> str:
    """Fill the open order form, place it, and return the new order's code from the page."""
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/orders/[A-Z0-9]{10}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def test_three_kinds_of_order_are_placed_and_followed_to_the_end_without_a_reload(logged_in_page, panel):
    page = logged_in_page
    followers = service("Instagram Followers [Refill: 30D]")
    page.goto("/orders/new/")
    page.get_by_label("Platform").select_option(label="Instagram")
    page.get_by_label("Category").select_option("Instagram Followers")
    page.get_by_label("Service", exact=True).select_option(str(followers.pk))
    expect(page.locator("#order-form h2")).to_have_text(followers.name)
    page.get_by_label("Quantity").press_sequentially("500")
    expect(page.locator("#estimate .cost")).to_contain_text(
        str(followers.cost(500).quantize(Decimal("0.01")))
    )
    first = place(page, {"Link": "https://instagram.com/p/first"})

    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#order-status")).to_have_text("Pending")
    panel.finish(first)
    expect(page.locator("#order-status")).to_have_text(FINISHED)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator(".timeline")).to_contain_text("Accepted by the provider")

    comments = service("Instagram Custom Comments [Max")
    page.goto("/orders/new/")
    page.get_by_role("searchbox", name="Search").fill(comments.name)
    page.locator(".found a").filter(has_text=comments.name).click()
    page.get_by_label("Comments").press_sequentially("\n".join(f"Lovely shot #{n}" for n in range(12)))
    expect(page.locator("#count-comments")).to_have_text("12 lines")
    second = place(page, {"Link": "https://instagram.com/p/second"})
    panel.finish(second)
    expect(page.locator("#order-status")).to_have_text(FINISHED)

    package = service("Instagram Starter Package")
    page.goto(f"/orders/new/?service={package.pk}")
    third = place(page, {"Link": "https://instagram.com/p/third"})
    panel.finish(third)
    expect(page.locator("#order-status")).to_have_text(FINISHED)

    page.goto("/orders/")
    expect(page.locator("#order-table tbody tr")).to_have_count(3)
    assert Order.objects.filter(status__in=["completed", "partial"]).count() == 3
    assert Order.objects.get(code=first).service == followers


def test_a_refill_is_requested_from_the_order_page_and_its_status_follows(logged_in_page, panel):
    page = logged_in_page
    followers = service("Instagram Followers [Refill: 30D]")
    page.goto(f"/orders/new/?service={followers.pk}")
    code = place(page, {"Link": "https://instagram.com/p/refill-me", "Quantity": "200"})
    panel.finish(code)
    expect(page.locator("#order-status")).to_have_text(FINISHED)
    panel.advance(days=2)  # JAP refuses a refill in the first 24 hours after completion

    page.get_by_role("button", name="Request a refill").click()
    expect(page.locator(".messages")).to_contain_text("Refill requested.")
    refills = page.get_by_role("region", name="Refills")
    expect(refills).to_contain_text("Pending")
    panel.advance(days=1)  # a sandbox refill starts within 2 hours and takes at most 12
    expect(refills).to_contain_text(re.compile(r"Completed|Rejected"))

    page.get_by_role("link", name="Refills").first.click()
    expect(page.locator("#refill-table tbody tr")).to_have_count(1)


def test_a_mass_order_of_five_lines_with_one_bad_line_places_four_orders(
    logged_in_page, sandbox, celery_worker
):
    page = logged_in_page
    likes = service("Instagram Likes")
    lines = [f"{likes.service_id} | https://instagram.com/p/mass{n} | 100" for n in range(4)]
    lines.insert(2, f"{likes.service_id} | https://youtube.com/watch?v=nope | 100")
    page.goto("/orders/mass/")
    page.get_by_label("Orders, one per line").fill("\n".join(lines))
    page.get_by_role("button", name="Preview").click()

    preview = page.locator(".mass-preview tbody tr")
    expect(preview).to_have_count(5)
    expect(page.locator(".bad-line")).to_have_count(1)
    expect(page.locator(".bad-line")).to_contain_text("not an Instagram link")
    page.get_by_role("button", name="Drop the bad line").click()
    expect(preview).to_have_count(4)
    expect(page.locator(".bad-line")).to_have_count(0)
    page.get_by_role("button", name=re.compile(r"Place 4 orders")).click()

    expect(page.locator(".messages")).to_contain_text("4 orders queued.")
    expect(page.locator("#order-table tbody tr")).to_have_count(4)
    expect(page.locator("#order-table")).to_contain_text("Pending")
    assert Order.objects.count() == 4


# An approval in two real browsers: a buyer's large order waits, an approver approves it in a
# second browser context, and the order completes on the sandbox while the buyer watches.


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
