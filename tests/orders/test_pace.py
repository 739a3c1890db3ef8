"""Polling and placing at the speed of the panel: calls in parallel, within the provider's bound,
slower when the panel says so, and one balance read per batch instead of one per order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from orders.models import EventKind, Order, OrderStatus
from orders.services.mass import mass_order_parse, mass_order_place
from orders.services.submitting import orders_submit
from orders.services.tracking import orders_poll_round
from providers import pace
from providers.client import sandbox as client_sandbox
from providers.models import Provider
from providers.sandbox import limits
from providers.sandbox.protocol import request_params
from providers.sandbox.views import api_v2
from providers.services import BALANCE_EVERY
from tests.waiting import PATIENCE


class SandboxPaceClock:
    """The pace's clock, tied to the sandbox's frozen one: waiting moves both, no time passes."""

    def __init__(self, frozen) -> None:
        self.frozen = frozen
        self.waited = 0.0
        self.lock = threading.Lock()

    def now(self):
        return self.frozen.now()

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.waited += seconds
            self.frozen.advance(seconds=seconds)


@pytest.fixture
def pace_clock(clock, monkeypatch) -> SandboxPaceClock:
    fake = SandboxPaceClock(clock)
    monkeypatch.setattr(pace, "clock", fake)
    return fake


@pytest.fixture
def limited(settings) -> Iterator[None]:
    """The sandbox refuses (HTTP 429) more than 2 calls a minute of its clock."""
    limits.limits_reset()
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 2
    yield
    limits.limits_reset()


class InFlight:
    """Calls reaching the sandbox: how many at once at most. The first `together` calls wait
    for each other (a barrier, bounded), so a round that does not run them at once fails."""

    def __init__(self, together: int) -> None:
        self.together = together
        self.barrier = threading.Barrier(together, timeout=PATIENCE)
        self.lock = threading.Lock()
        self.now = self.most = self.seen = 0
        self.actions: list[str] = []

    def view(self, request):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.seen += 1
            first = self.seen <= self.together
            self.actions.append(request_params(request).get("action", ""))
        try:
            if first:
                self.barrier.wait()
            return api_v2(request)
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture
def in_flight(monkeypatch, settings) -> InFlight:
    settings.PROVIDER_MAX_CONCURRENCY = 4
    record = InFlight(together=4)
    monkeypatch.setattr(client_sandbox, "sandbox_view", lambda: record.view)
    return record


def test_a_round_asks_four_batches_at_once_and_two_rounds_together_never_more(
    followers, open_orders, clock, in_flight
):
    open_orders(followers, 600)
    clock.advance(simulated=True, hours=3)
    reports = []

    def round_() -> None:
        reports.append(orders_poll_round())

    # Two rounds at once, as two worker processes would run them: 8 threads, 4 slots.
    rounds = [threading.Thread(target=round_) for _ in range(2)]
    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join()

    assert in_flight.most == 4
    assert sum(report.checked for report in reports) == 600  # every order once: no two claims
    # Six calls of 100 at best; a claim racing another round's may come back short (the rows it
    # skips are locked by that claim), never with an order twice.
    assert sum(report.calls for report in reports) == in_flight.actions.count("status") >= 6
    assert not Order.objects.exclude(status__in=[OrderStatus.COMPLETED, OrderStatus.PARTIAL]).exists()


def test_a_slot_taken_elsewhere_is_not_given_twice(sandbox, settings):
    settings.PROVIDER_MAX_CONCURRENCY = 2
    provider_pace = pace.Pace(sandbox.pk)
    taken_elsewhere = []

    def try_take() -> None:
        taken_elsewhere.append(provider_pace._try_take(pace.clock.now()))

    with provider_pace.slot(), provider_pace.slot():
        other = threading.Thread(target=try_take)  # another database connection
        other.start()
        other.join()
    assert taken_elsewhere == [None]
    with provider_pace.slot():
        pass  # both given back: free again


def test_a_panel_limiting_calls_slows_polling_down_and_every_order_is_still_checked(
    followers, open_orders, clock, limited, pace_clock, panel_calls, sandbox
):
    open_orders(followers, 400)
    clock.advance(simulated=True, hours=3)

    report = orders_poll_round()

    assert (report.due, report.checked, report.changed, report.errors) == (400, 400, 400, 0)
    refused = limits.refused_count(sandbox._api_key())
    assert refused > 0
    assert panel_calls.count("status") == 4 + refused  # each refused call was made again
    assert report.calls == 4 + refused
    assert pace_clock.waited >= 10  # it waited for the panel's minute to pass
    assert not Order.objects.exclude(status__in=[OrderStatus.COMPLETED, OrderStatus.PARTIAL]).exists()
    sandbox.refresh_from_db()
    assert sandbox.last_error == ""  # a rate limit is no failure of the provider


def test_polling_within_the_requests_per_minute_setting_is_never_refused(
    followers, open_orders, clock, limited, pace_clock, panel_calls, sandbox, settings
):
    settings.PROVIDER_MAX_REQUESTS_PER_MINUTE = 2
    open_orders(followers, 400)
    clock.advance(simulated=True, hours=3)

    report = orders_poll_round()

    assert (report.checked, report.calls) == (400, 4)
    assert limits.refused_count(sandbox._api_key()) == 0
    assert pace_clock.waited >= 60  # 4 calls at 2 a minute: the last two a minute later


def mass_order(provider: Provider, service, lines: int, token: str) -> list[Order]:
    text = "\n".join(
        f"{service.service_id} | https://instagram.com/p/{token}-{n} | 100" for n in range(lines)
    )
    parsed = mass_order_parse(text, provider=provider)
    assert all(line.ok for line in parsed)
    return mass_order_place(lines=parsed, provider=provider, token=token, enqueue=False)


def test_a_mass_order_is_sent_four_at_a_time_with_one_add_per_line_and_few_balance_reads(
    followers, sandbox, in_flight
):
    orders = mass_order(sandbox, followers, 120, "mass-speed")
    started = time.monotonic()

    assert orders_submit(order_ids=[order.pk for order in orders]) == []

    assert in_flight.most == 4
    assert in_flight.actions.count("add") == 120
    # One read when the first order was accepted, then at most one per BALANCE_EVERY while
    # they go (the one after the last is left to a task when the last read is too recent).
    reads = in_flight.actions.count("balance")
    assert reads <= 2 + (time.monotonic() - started) // BALANCE_EVERY.total_seconds()
    assert len(in_flight.actions) == 120 + reads
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 120
    sandbox.refresh_from_db()
    assert sandbox.balance is not None


def test_lines_the_panel_refuses_for_its_rate_limit_go_back_to_the_queue_without_using_an_attempt(
    followers, sandbox, clock, limited, pace_clock
):
    orders = mass_order(sandbox, followers, 8, "mass-limited")

    again = orders_submit(order_ids=[order.pk for order in orders])

    refused = limits.refused_count(sandbox._api_key())
    # Every line the panel refused is back in the queue (the balance read after them may be
    # refused too: it counts among the refusals).
    assert 0 < len(again) <= refused
    assert {order.status for order in again} == {OrderStatus.QUEUED}
    assert {order.submit_attempts for order in again} == {0}
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 8 - len(again)
    assert not Order.objects.filter(status__in=[OrderStatus.REJECTED, OrderStatus.UNCONFIRMED]).exists()
    assert all(order.events.filter(kind=EventKind.RETRY).exists() for order in again)

    for _ in range(8):  # as the task does: again later, until the panel took them all
        clock.advance(minutes=2)
        again = orders_submit(order_ids=[order.pk for order in again])
        if not again:
            break
    assert again == []
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 8


def test_the_balance_is_read_at_most_every_few_seconds_per_provider(followers, sandbox, panel_calls):
    first = mass_order(sandbox, followers, 3, "mass-a")
    orders_submit(order_ids=[order.pk for order in first])
    second = mass_order(sandbox, followers, 3, "mass-b")
    orders_submit(order_ids=[order.pk for order in second])
    assert panel_calls.count("balance") == 1  # the second batch came within BALANCE_EVERY

    Provider.objects.filter(pk=sandbox.pk).update(
        balance_checked_at=Provider.objects.get(pk=sandbox.pk).balance_checked_at - timedelta(seconds=6)
    )
    third = mass_order(sandbox, followers, 3, "mass-c")
    orders_submit(order_ids=[order.pk for order in third])
    assert panel_calls.count("balance") == 2
