"""Orders as a person places and follows them, in real headless Chromium with a real worker."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from catalog.models import Service
from catalog.services import catalog_sync
from orders.models import Order, Refill
from orders.tasks import poll_orders, poll_refills
from providers.models import Provider
from providers.sandbox import clock

pytestmark = [pytest.mark.browser, pytest.mark.worker]

FINISHED = re.compile(r"Completed|Partial")


@pytest.fixture
def fast(settings, monkeypatch) -> None:
    # An hour of the sandbox's simulated time per real second: orders finish within seconds.
    settings.SANDBOX_TIME_SCALE = 3600.0
    settings.SANDBOX_START_BALANCE = Decimal("1000")
    settings.ORDERS_SUBMIT_BACKOFF_SECONDS = 0.0
    monkeypatch.setattr("orders.views.LIVE_REFRESH_SECONDS", 1)


@pytest.fixture
def sandbox(transactional_db, fast) -> Provider:
    provider = Provider.objects.get(name="Sandbox")
    catalog_sync(provider=provider)
    return provider


@pytest.fixture
def beat(celery_worker) -> Iterator[None]:
    """Celery beat, sped up: every half second whatever is being followed is due and polled."""
    stop = threading.Event()

    def tick() -> None:
        try:
            while not stop.wait(0.5):
                now = timezone.now()
                Order.objects.filter(next_check_at__isnull=False).update(next_check_at=now)
                Refill.objects.filter(next_check_at__isnull=False).update(next_check_at=now)
                poll_orders.delay()
                poll_refills.delay()
        finally:
            connection.close()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


class RunningClock:
    """The sandbox's clock: wall-clock time, moved ahead by `skip()` (the refill cooldown)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return timezone.now() + self.offset

    def skip(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


@pytest.fixture
def sandbox_clock() -> Iterator[RunningClock]:
    running = RunningClock()
    previous = clock.set_clock(running)
    yield running
    clock.set_clock(previous)


def service(name: str) -> Service:
    return Service.objects.filter(name__startswith=name, active=True).order_by("pk").first()


def place(page: Page, fields: dict[str, str]) -> str:
    """Fill the open order form, place it, and return the new order's code from the page."""
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/orders/[A-Z0-9]{10}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def test_three_kinds_of_order_are_placed_and_followed_to_the_end_without_a_reload(
    logged_in_page, sandbox, beat
):
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
    expect(page.locator("#order-status")).to_have_text(FINISHED, timeout=30_000)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator(".timeline")).to_contain_text("Accepted by the provider")

    comments = service("Instagram Custom Comments [Max")
    page.goto("/orders/new/")
    page.get_by_role("searchbox", name="Search").fill(comments.name)
    page.locator(".found a").filter(has_text=comments.name).click()
    page.get_by_label("Comments").press_sequentially("\n".join(f"Lovely shot #{n}" for n in range(12)))
    expect(page.locator("#count-comments")).to_have_text("12 lines")
    place(page, {"Link": "https://instagram.com/p/second"})
    expect(page.locator("#order-status")).to_have_text(FINISHED, timeout=30_000)

    package = service("Instagram Starter Package")
    page.goto(f"/orders/new/?service={package.pk}")
    place(page, {"Link": "https://instagram.com/p/third"})
    expect(page.locator("#order-status")).to_have_text(FINISHED, timeout=30_000)

    page.goto("/orders/")
    expect(page.locator("#order-table tbody tr")).to_have_count(3)
    assert Order.objects.filter(status__in=["completed", "partial"]).count() == 3
    assert Order.objects.get(code=first).service == followers


def test_a_refill_is_requested_from_the_order_page_and_its_status_follows(
    logged_in_page, sandbox, beat, sandbox_clock
):
    page = logged_in_page
    followers = service("Instagram Followers [Refill: 30D]")
    page.goto(f"/orders/new/?service={followers.pk}")
    place(page, {"Link": "https://instagram.com/p/refill-me", "Quantity": "200"})
    expect(page.locator("#order-status")).to_have_text(FINISHED, timeout=30_000)
    # JAP refuses a refill in the first 24 hours after completion (sandbox time runs faster).
    sandbox_clock.skip(seconds=clock.to_real(timedelta(days=2)).total_seconds())

    page.get_by_role("button", name="Request a refill").click()
    expect(page.locator(".messages")).to_contain_text("Refill requested.")
    refills = page.get_by_role("region", name="Refills")
    expect(refills).to_contain_text(re.compile(r"Pending|In progress|Completed|Rejected"))
    expect(refills).to_contain_text(re.compile(r"Completed|Rejected"), timeout=30_000)

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
    expect(page.locator("#order-table")).to_contain_text("Pending", timeout=30_000)
    assert Order.objects.count() == 4
