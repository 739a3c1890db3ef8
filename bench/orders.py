"""Orders: one polling round over 10,000 open orders against the sandbox, and a 500-line mass order.

The panel is the real sandbox, answering in process (`sandbox://`). Its 10,000 orders are built
with the sandbox's own simulation (`order_build`) and inserted in bulk rather than placed one by
one through `add`, which would only measure the sandbox; every status answer then comes from
the sandbox's view. Queries and database time are those of the polling code in every thread it
fans out to (the sandbox answers on its own connection, in its own thread, not counted).
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.common import DatabaseTime, line, sandbox_counted
from catalog.models import Service
from jappanel.db import bulk_insert
from orders.models import CancelRequest, Order, OrderEvent, OrderStatus, Refill, Submission
from orders.services.mass import mass_order_parse, mass_order_place
from orders.services.tracking import orders_poll_round
from providers.models import Provider
from providers.sandbox import clock
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.models import Refill as SandboxRefill
from providers.sandbox.models import Service as SandboxService
from providers.sandbox.services import sandbox_account_get, service_catalog_ensure
from providers.sandbox.simulation import order_build
from providers.services import SANDBOX_API_URL, SANDBOX_PROVIDER_NAME
from tests.factories import catalog_row_of

OPEN_ORDERS = 10_000
MASS_LINES = 500


def reset() -> None:
    """Start from no orders at all: a polling round claims every due order in the database."""
    tables = [Order, OrderEvent, Refill, CancelRequest, Submission, SandboxOrder, SandboxRefill]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(model._meta.db_table for model in tables)} CASCADE")


def sandbox() -> Provider:
    """The Sandbox provider, switched on: the other benchmarks leave real providers in this
    database, beside which start-up switches the sandbox off (`provider_bootstrap`)."""
    provider = Provider.objects.filter(name=SANDBOX_PROVIDER_NAME).first() or Provider(
        name=SANDBOX_PROVIDER_NAME
    )
    provider.api_url, provider.active = SANDBOX_API_URL, True
    provider.set_api_key(sandbox_account_get().api_key)
    provider.save()
    return provider


def followers(provider: Provider) -> Service:
    spec = SandboxService.objects.filter(type="Default", category__startswith="Instagram Followers").first()
    return catalog_row_of(spec, provider)


def open_orders(
    provider: Provider, service: Service, at: timezone.datetime, count: int = OPEN_ORDERS
) -> None:
    account = sandbox_account_get()
    spec = SandboxService.objects.get(pk=service.service_id)
    placed = SandboxOrder.objects.bulk_create(
        [
            order_build(
                account=account,
                service=spec,
                key=f"bench{n}",
                quantity=1000,
                at=at,
                link=f"https://instagram.com/p/b{n}",
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    bulk_insert(
        Order,
        [
            {
                "code": f"POLL{n:05d}",
                "provider_id": provider.pk,
                "service_id": service.pk,
                "link": sandbox_order.link,
                "quantity": 1000,
                "extra": {},
                "estimated_charge": service.cost(1000),
                "currency": "USD",
                "status": OrderStatus.PENDING,
                "provider_status": "Pending",
                "provider_order_id": sandbox_order.pk,
                "submission_token": f"poll-bench-{n}",
                "created_at": now - timedelta(minutes=5),
                "status_changed_at": now - timedelta(minutes=5),
                "submitted_at": now - timedelta(minutes=5),
                "next_check_at": now - timedelta(seconds=1),
                **dict.fromkeys(("comments", "usernames", "hashtags", "hashtag", "username", "media"), ""),
                **dict.fromkeys(("groups", "keywords", "last_error", "decline_reason"), ""),
                "needs_attention": False,
                "submit_attempts": 1,
            }
            for n, sandbox_order in enumerate(placed)
        ],
    )
    # As autovacuum would soon after a bulk insert: without statistics the planner scans the
    # whole table for each claim of 100 due orders instead of reading its index.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Order._meta.db_table}, {SandboxOrder._meta.db_table}")


def polling_round() -> None:
    provider = sandbox()
    service_catalog_ensure()
    service = followers(provider)
    with clock.frozen(timezone.now()) as frozen:
        open_orders(provider, service, frozen.now())
        # Half an hour of simulated time: some orders started, some finished, some still pending.
        frozen.advance(simulated=True, minutes=30)
        # 1 in flight: with threads, a query's wall time would include waiting for the
        # interpreter while other threads run (bench/polling.py times rounds in parallel).
        settings.PROVIDER_MAX_CONCURRENCY = 1
        try:
            with DatabaseTime().measuring() as db, sandbox_counted() as calls:
                report = orders_poll_round()
        finally:
            settings.PROVIDER_MAX_CONCURRENCY = 4
    hundreds = OPEN_ORDERS / 100
    per_100 = db.queries / hundreds
    db_ms = db.seconds * 1000 / hundreds
    changed = OrderEvent.objects.count()
    status_calls = calls.by_action.get("status", 0)
    line("poll 10,000 open orders: status calls", str(status_calls), "100", status_calls == 100)
    line(
        "poll 10,000 open orders: orders checked",
        f"{report.checked:,}",
        "10,000",
        report.checked == OPEN_ORDERS,
    )
    line("poll 10,000 open orders: queries per 100 orders", f"{per_100:.2f}", "<= 5", per_100 <= 5)
    line("poll 10,000 open orders: DB time per 100 orders", f"{db_ms:.1f} ms", "<= 15 ms", db_ms <= 15)
    line("poll 10,000 open orders: status changes recorded", f"{changed:,}", "(informative)", True)
    line(
        "poll 10,000 open orders: whole round at 1 in flight, sandbox included",
        f"{report.seconds:.1f} s",
        "(informative)",
        True,
    )


def mass_order() -> None:
    provider = sandbox()
    service = followers(provider)
    Provider.objects.filter(pk=provider.pk).update(balance=Decimal("100000"))
    provider.refresh_from_db()
    text = "\n".join(
        f"{service.service_id} | https://instagram.com/p/mass{n} | 1000" for n in range(MASS_LINES)
    )
    started = time.perf_counter()
    lines = mass_order_parse(text, provider=provider)
    preview = time.perf_counter() - started
    assert all(line.ok for line in lines), [line.error for line in lines if not line.ok][:3]
    started = time.perf_counter()
    # Not enqueued: a running worker would send them; the broker's share is one message per order.
    orders = mass_order_place(lines=lines, provider=provider, token="bench-mass", enqueue=False)
    queued = time.perf_counter() - started
    assert len(orders) == MASS_LINES
    line(
        "500-line mass order: preview (parse and validate)",
        f"{preview * 1000:.0f} ms",
        "< 1000 ms",
        preview < 1,
    )
    line(
        "500-line mass order: all queued (saved with events)",
        f"{queued * 1000:.0f} ms",
        "< 2000 ms",
        queued < 2,
    )


def run() -> None:
    reset()
    polling_round()
    reset()
    mass_order()
    reset()
