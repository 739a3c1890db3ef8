"""Notifications: what recording and fanning out 10,000 events adds to a polling round's DB time.

Two identical polling rounds over 10,000 open orders that the sandbox ends partial, the
biggest burst of events the product makes: one with nobody listening, one with the
notifications app recording an event for each order, a copy for the person who placed it (20
buyers) and a delivery for the team's webhook endpoint. What the second round's DB time exceeds
the first's by, together with any work the round leaves for later, is what notifications add.
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
from notifications.models import Delivery, Endpoint, Event, Notification
from notifications.services.recording import occurrences_record
from orders.models import Order, OrderStatus
from orders.services.tracking import orders_poll_round
from providers.sandbox import clock
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.services import service_catalog_ensure

BUYERS = 20
ROUNDS = 2


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


def round_db_ms(*, listening: bool) -> float:
    """The DB time of one round over the orders of `partial_orders` (and of anything it leaves
    for the notification tasks), with the notifications app listening or not."""
    forget_notifications()
    with clock.frozen(timezone.now()) as frozen:
        partial_orders()
        frozen.advance(simulated=True, minutes=30)
        if not listening:
            happened.disconnect(dispatch_uid="notifications_record")
        # 1 in flight: the round runs in one thread, so no query waits for another thread.
        settings.PROVIDER_MAX_CONCURRENCY = 1
        try:
            with DatabaseTime().measuring() as db:
                orders_poll_round()
        finally:
            settings.PROVIDER_MAX_CONCURRENCY = 4
            happened.connect(occurrences_record, dispatch_uid="notifications_record")
    partial = Order.objects.filter(status=OrderStatus.PARTIAL).count()
    assert partial == OPEN_ORDERS, partial
    if listening:
        counts = (Event.objects.count(), Notification.objects.count(), Delivery.objects.count())
        assert counts == (OPEN_ORDERS,) * 3, counts
    return db.seconds * 1000


def run() -> None:
    Endpoint.objects.all().delete()
    Endpoint.objects.create(name="Bench", type="webhook", url="https://hooks.bench.invalid/")
    # Alternating, best of each: the machine's other work falls on both alike.
    quiet, told = [], []
    for _ in range(ROUNDS):
        quiet.append(round_db_ms(listening=False))
        told.append(round_db_ms(listening=True))
    alone, with_events = min(quiet), min(told)
    share = (with_events - alone) / alone * 100
    line("notify 10,000 events: round DB time, nobody listening", f"{alone:.0f} ms", "(informative)", True)
    line("notify 10,000 events: round DB time, events told", f"{with_events:.0f} ms", "(informative)", True)
    line("notify 10,000 events: added to the round's DB time", f"{share:.1f} %", "<= 10 %", share <= 10)
    forget_notifications()
    Endpoint.objects.all().delete()
    reset()
