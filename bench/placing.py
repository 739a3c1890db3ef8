"""Placing at the speed of the panel: 2,000 orders (two mass orders of 1,000 lines, sent by two
tasks at once as two worker processes would) accepted by a sandbox answering each call in 300 ms.

Goal: all accepted within 3 minutes, with at most 2,100 calls in all (one `add` per order and a
few balance reads, not one per order). The floor is 2,000 × 0.3 s ÷ 4 = 150 s.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from django.conf import settings
from django.db import connections

from bench.common import line, sandbox_counted
from bench.orders import followers, reset, sandbox
from orders.models import Order, OrderStatus
from orders.services.mass import mass_order_parse, mass_order_place
from orders.services.submitting import orders_submit
from providers.models import Provider
from providers.sandbox.models import Account
from providers.sandbox.services import service_catalog_ensure

LATENCY_MS = 300
LINES = 1000
MASS_ORDERS = 2


def place() -> None:
    provider = sandbox()
    service_catalog_ensure()
    service = followers(provider)
    Provider.objects.filter(pk=provider.pk).update(balance=Decimal("1000000"), balance_checked_at=None)
    Account.objects.update(balance=Decimal("1000000"))
    provider.refresh_from_db()
    quantity = max(service.min_quantity, 100)
    batches = []
    for number in range(MASS_ORDERS):
        text = "\n".join(
            f"{service.service_id} | https://instagram.com/p/place{number}x{n} | {quantity}"
            for n in range(LINES)
        )
        lines = mass_order_parse(text, provider=provider)
        assert all(line.ok for line in lines), [line.error for line in lines if not line.ok][:3]
        orders = mass_order_place(
            lines=lines, provider=provider, token=f"bench-place-{number}", enqueue=False
        )
        batches.append([order.pk for order in orders])
    settings.SANDBOX_LATENCY_MS, settings.PROVIDER_MAX_CONCURRENCY = LATENCY_MS, 4
    settings.PROVIDER_MAX_REQUESTS_PER_MINUTE = None

    def task(ids: list[int]) -> None:
        try:
            orders_submit(order_ids=ids)
        finally:
            connections.close_all()

    try:
        with sandbox_counted() as calls:
            started = time.perf_counter()
            tasks = [threading.Thread(target=task, args=(ids,)) for ids in batches]
            for thread in tasks:
                thread.start()
            for thread in tasks:
                thread.join()
            seconds = time.perf_counter() - started
    finally:
        settings.SANDBOX_LATENCY_MS = 0
    total = MASS_ORDERS * LINES
    accepted = Order.objects.filter(status=OrderStatus.PENDING).count()
    label = f"place {total:,} orders at {LATENCY_MS} ms a call"
    line(f"{label}: all accepted", f"{seconds:.1f} s", "<= 180 s", seconds <= 180 and accepted == total)
    line(f"{label}: orders accepted", f"{accepted:,}", f"{total:,}", accepted == total)
    line(f"{label}: calls in all", f"{calls.total:,}", "<= 2,100", calls.total <= 2100)
    adds, balances = calls.by_action.get("add", 0), calls.by_action.get("balance", 0)
    line(f"{label}: add / balance calls", f"{adds:,} / {balances}", "(informative)", True)
    line(f"{label}: calls in flight (most)", str(calls.most), "4", calls.most == 4)


def run() -> None:
    reset()
    place()
    reset()
