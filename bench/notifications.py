"""Notifications: what recording and fanning out 10,000 events adds to a polling round's DB time.

Two identical polling rounds over 10,000 open orders that the sandbox ends partial, the
biggest burst of events the product makes: one with nobody listening, one with the
notifications app recording an event for each order, a copy for the person who placed it (20
buyers) and the deliveries to the team's webhook endpoint (100 events each). The goal's figure
is the DB time of every query the app makes in the second round, against the rest of that
round; the difference between the two rounds is printed beside it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from bench.common import DatabaseTime, line
from bench.orders import OPEN_ORDERS, followers, open_orders, reset, sandbox
from jappanel.events import happened
from notifications.models import EVENTS_PER_DELIVERY, Delivery, Endpoint, Event, Notification
from notifications.services.recording import occurrences_record
from orders.models import Order, OrderStatus
from orders.services.tracking import orders_poll_round
from providers.sandbox import clock
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.services import service_catalog_ensure

BUYERS = 20
ROUNDS = 3


def forget_notifications() -> None:
    tables = [Event, Notification, Delivery]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(model._meta.db_table for model in tables)} CASCADE")


def partial_orders() -> None:
    """10,000 open orders of 20 buyers, each of which the sandbox ends partial when next asked."""
    reset()
    provider = sandbox()
    service_catalog_ensure()
    service = followers(provider)
    now = clock.now()
    open_orders(provider, service, now)
    SandboxOrder.objects.update(starts_at=now, finishes_at=now + timedelta(seconds=1), planned_remains=100)
    User = get_user_model()
    buyers = list(User.objects.filter(username__startswith="bench-buyer").order_by("pk"))
    if len(buyers) < BUYERS:
        User.objects.filter(username__startswith="bench-buyer").delete()
        buyers = User.objects.bulk_create(
            [User(username=f"bench-buyer{n}", email=f"buyer{n}@example.com") for n in range(BUYERS)]
        )
    ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))
    for n, buyer in enumerate(buyers):
        Order.objects.filter(pk__in=ids[n::BUYERS]).update(user=buyer)


def round_db_ms(*, listening: bool) -> tuple[float, float]:
    """The DB time of one round over the orders of `partial_orders`, with the notifications app
    listening or not, and the part of it spent recording (every query the app makes while it
    listens: events, copies, deliveries, and the reads that decide them)."""
    forget_notifications()
    db = DatabaseTime()

    def record(sender: object = None, **kwargs: object) -> list[int]:
        with db.attributing("notifications"):
            return occurrences_record(sender, **kwargs)

    with clock.frozen(timezone.now()) as frozen:
        partial_orders()
        frozen.advance(simulated=True, minutes=30)
        happened.disconnect(dispatch_uid="notifications_record")
        if listening:
            happened.connect(record, dispatch_uid="bench_record", weak=False)
        # 1 in flight: the round runs in one thread, so no query waits for another thread.
        settings.PROVIDER_MAX_CONCURRENCY = 1
        try:
            with db.measuring():
                orders_poll_round()
        finally:
            settings.PROVIDER_MAX_CONCURRENCY = 4
            happened.disconnect(dispatch_uid="bench_record")
            happened.connect(occurrences_record, dispatch_uid="notifications_record")
    partial = Order.objects.filter(status=OrderStatus.PARTIAL).count()
    assert partial == OPEN_ORDERS, partial
    if listening:
        counts = (Event.objects.count(), Notification.objects.count(), Delivery.objects.count())
        assert counts == (OPEN_ORDERS, OPEN_ORDERS, OPEN_ORDERS // EVENTS_PER_DELIVERY), counts
    return db.seconds * 1000, db.attributed.get("notifications", 0.0) * 1000


def run() -> None:
    Endpoint.objects.all().delete()
    Endpoint.objects.create(name="Bench", type="webhook", url="https://hooks.bench.invalid/")
    # Alternating, best of each: the machine's other work falls on both alike.
    quiet, told = [], []
    for _ in range(ROUNDS):
        quiet.append(round_db_ms(listening=False)[0])
        told.append(round_db_ms(listening=True))
    alone = min(quiet)
    with_events, recording = min(told)
    # The goal's figure: what recording cost, against the rest of the same round. The
    # difference between two rounds says the same with the machine's noise in it (±5 points).
    share = recording / (with_events - recording) * 100
    between = (with_events - alone) / alone * 100
    line("notify 10,000 events: round DB time, nobody listening", f"{alone:.0f} ms", "(informative)", True)
    line("notify 10,000 events: round DB time, events told", f"{with_events:.0f} ms", "(informative)", True)
    line("notify 10,000 events: the same, between the two rounds", f"{between:.1f} %", "(informative)", True)
    line(
        "notify 10,000 events: recording and fanning out, in that round",
        f"{recording:.0f} ms",
        "(informative)",
        True,
    )
    line("notify 10,000 events: added to the round's DB time", f"{share:.1f} %", "<= 10 %", share <= 10)
    forget_notifications()
    Endpoint.objects.all().delete()
    reset()
