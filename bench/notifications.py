"""Notifications: what recording and fanning out 10,000 events adds to a polling round's DB time.

The round is bench.orders' (10,000 open orders against the in-process sandbox), measured with
the notifications receiver disconnected. Then 10,000 of those orders end partial, announced as
a polling round announces them (one `announce` per batch of 100), each to the person who placed
it (20 buyers), with a team webhook endpoint listening: events recorded, copies made and
deliveries queued, in the database, are what is measured.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.common import line
from bench.orders import OPEN_ORDERS, followers, open_orders, reset, sandbox
from jappanel.events import Occurrence, announce, happened
from notifications.models import Delivery, Endpoint, Event, Notification
from notifications.services.recording import events_fan_out, occurrences_record
from orders.models import Order, OrderStatus
from orders.services.tracking import orders_poll_round
from providers.sandbox import clock
from providers.sandbox.services import service_catalog_ensure

BUYERS = 20


def db_ms(queries: CaptureQueriesContext) -> float:
    return sum(float(query["time"]) for query in queries) * 1000


def round_db_ms() -> float:
    """The polling round's DB time, without notifications."""
    provider = sandbox()
    service_catalog_ensure()
    service = followers(provider)
    happened.disconnect(dispatch_uid="notifications_record")
    try:
        with clock.frozen(timezone.now()) as frozen:
            open_orders(provider, service, frozen.now())
            frozen.advance(simulated=True, minutes=30)
            # 1 in flight: the round runs in this thread, on the connection measured here.
            settings.PROVIDER_MAX_CONCURRENCY = 1
            with CaptureQueriesContext(connection) as queries:
                orders_poll_round()
    finally:
        settings.PROVIDER_MAX_CONCURRENCY = 4
        happened.connect(occurrences_record, dispatch_uid="notifications_record")
    return db_ms(queries)


def record_events() -> tuple[float, float, float, int]:
    User = get_user_model()
    User.objects.filter(username__startswith="bench-buyer").delete()
    buyers = User.objects.bulk_create(
        [User(username=f"bench-buyer{n}", email=f"buyer{n}@example.com") for n in range(BUYERS)]
    )
    ids = list(Order.objects.order_by("pk").values_list("pk", flat=True)[:OPEN_ORDERS])
    for n, buyer in enumerate(buyers):
        Order.objects.filter(pk__in=ids[n::BUYERS]).update(user=buyer, status=OrderStatus.PARTIAL)
    Endpoint.objects.all().delete()
    Endpoint.objects.create(name="Bench", type="webhook", url="https://hooks.bench.invalid/")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        for start in range(0, len(ids), 100):
            announce(
                Occurrence("order.moved", f"order:{pk}:partial", {"order_id": pk, "to": OrderStatus.PARTIAL})
                for pk in ids[start : start + 100]
            )
        recording = db_ms(queries)
        # What the fan-out task does a second later, for everything the round recorded.
        while events_fan_out():
            pass
        seconds = time.perf_counter() - started
    recorded = Event.objects.count()
    assert Notification.objects.count() == recorded == Delivery.objects.count() == len(ids), recorded
    return recording, db_ms(queries) - recording, seconds, len(queries)


def run() -> None:
    reset()
    Event.objects.all().delete()
    polling = round_db_ms()
    recording, fanning, seconds, queries = record_events()
    share = (recording + fanning) / polling * 100
    line(
        "notify 10,000 events: polling round DB time (no events)", f"{polling:.0f} ms", "(informative)", True
    )
    line(
        "notify 10,000 events: recording in the round, DB time", f"{recording:.0f} ms", "(informative)", True
    )
    line(
        "notify 10,000 events: fan-out (copies, deliveries), DB time",
        f"{fanning:.0f} ms",
        "(informative)",
        True,
    )
    line(
        "notify 10,000 events: queries per 100 events",
        f"{queries / (OPEN_ORDERS / 100):.1f}",
        "(informative)",
        True,
    )
    line("notify 10,000 events: whole, Python included", f"{seconds:.1f} s", "(informative)", True)
    line("notify 10,000 events: added to the round's DB time", f"{share:.1f} %", "<= 10 %", share <= 10)
    Event.objects.all().delete()
    Endpoint.objects.all().delete()
    reset()
