"""Polling at the speed of the panel: 50,000 open orders against a sandbox answering each call in
500 ms, one full round with PROVIDER_MAX_CONCURRENCY = 4 calls in flight.

The floor is 500 calls × 0.5 s ÷ 4 = 62.5 s. `BENCH_POLL_ORDERS=10000` runs a scaled round
(the goal scales with it). Database time is measured first, over 5,000 of them at 1 in flight
and no delay (in threads a query's wall time includes waiting for the interpreter); then the
round is timed with every order due.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.utils import timezone

from bench.common import DatabaseTime, line, sandbox_counted
from bench.orders import followers, open_orders, reset, sandbox
from orders.models import Order, OrderEvent
from orders.services.tracking import orders_poll_round
from providers.sandbox import clock
from providers.sandbox.services import service_catalog_ensure

LATENCY_MS = 500
MEASURED = 5000
IN_FLIGHT = 4


def polling_round(count: int) -> None:
    provider = sandbox()
    service_catalog_ensure()
    service = followers(provider)
    settings.PROVIDER_MAX_REQUESTS_PER_MINUTE = None
    calls_needed = -(-count // 100)
    label = f"poll {count:,} open orders"
    with clock.frozen(timezone.now()) as frozen:
        open_orders(provider, service, frozen.now(), count)
        frozen.advance(simulated=True, minutes=30)
        # Database time first, in a round at 1 in flight and no delay: with threads, a query's
        # wall time would include waiting for the interpreter while other threads run.
        # The first MEASURED of them: the table is full, the sandbox's own time is not ours.
        settings.PROVIDER_MAX_CONCURRENCY, settings.ORDERS_POLL_MAX_PER_ROUND = 1, min(MEASURED, count)
        try:
            with DatabaseTime().measuring() as db:
                measured = orders_poll_round()
        finally:
            settings.ORDERS_POLL_MAX_PER_ROUND = 50_000
        hundreds = measured.checked / 100
        db_ms = db.seconds * 1000 / hundreds
        line(
            f"{label}: DB time per 100 orders (1 in flight, {measured.checked:,} of them)",
            f"{db_ms:.1f} ms",
            "<= 15 ms",
            db_ms <= 15,
        )
        line(f"{label}: queries per 100 orders", f"{db.queries / hundreds:.2f}", "(informative)", True)
        line(f"{label}: status changes recorded", f"{OrderEvent.objects.count():,}", "(informative)", True)
        # Then the round timed: every order due again, the panel 30 simulated minutes further.
        Order.objects.update(next_check_at=timezone.now())
        frozen.advance(simulated=True, minutes=30)
        settings.SANDBOX_LATENCY_MS, settings.PROVIDER_MAX_CONCURRENCY = LATENCY_MS, IN_FLIGHT
        try:
            with sandbox_counted() as calls:
                report = orders_poll_round()
        finally:
            settings.SANDBOX_LATENCY_MS = 0
    goal = calls_needed * LATENCY_MS / 1000 / IN_FLIGHT + 7.5  # 70 s at 50,000
    label = f"{label} at {LATENCY_MS} ms a call"
    line(f"{label}: one full round", f"{report.seconds:.1f} s", f"<= {goal:.1f} s", report.seconds <= goal)
    line(f"{label}: calls in flight (most)", str(calls.most), f"{IN_FLIGHT}", calls.most == IN_FLIGHT)
    status = calls.by_action.get("status", 0)
    line(f"{label}: status calls", str(status), str(calls_needed), status == calls_needed)
    line(f"{label}: orders checked", f"{report.checked:,}", f"{count:,}", report.checked == count)


def run() -> None:
    reset()
    polling_round(int(os.environ.get("BENCH_POLL_ORDERS", "50000")))
    reset()
