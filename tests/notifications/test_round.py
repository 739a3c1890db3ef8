"""A polling round's changes: recorded in the round, fanned out together afterwards."""

from __future__ import annotations

import pytest

from jappanel.events import Occurrence, announce
from notifications.models import Event, Kind, Notification
from notifications.services.recording import events_fan_out
from notifications.tasks import fan_out
from orders.models import Order, OrderStatus
from orders.services.tracking import orders_poll_round
from tests.factories import person
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rounds_partial_orders_are_recorded_once_and_told_after_the_round(
    followers, open_orders, clock, settings
):
    # One thread: batches of 100, 100 and 50. Threads racing for claims may take a few orders at
    # a time, which are told at once, as a person's action is.
    settings.PROVIDER_MAX_CONCURRENCY = 1
    approver = person("approver", "Approver")
    open_orders(followers, 250)
    clock.advance(simulated=True, hours=3)

    orders_poll_round()

    partial = set(Order.objects.filter(status=OrderStatus.PARTIAL).values_list("code", flat=True))
    assert partial, "the sandbox ends some orders partial"
    events = Event.objects.filter(kind=Kind.ORDER_PARTIAL)
    assert {event.data["order_code"] for event in events} == partial
    # More than a few at once: fanned out by a task, all together, not in the round.
    assert not Notification.objects.exists(), list(
        Notification.objects.values_list("event__kind", "event__title")
    )
    announce(
        Occurrence("order.moved", "retried", {"order_id": order.pk, "to": OrderStatus.PARTIAL})
        for order in Order.objects.filter(status=OrderStatus.PARTIAL)
    )
    assert events.count() == len(partial)

    assert events_fan_out() == len(partial)
    assert events_fan_out() == 0
    # Placed by nobody (a command): whoever may resolve orders hears of them.
    assert Notification.objects.filter(user=approver).count() == len(partial)


@pytest.mark.worker
def test_the_worker_fans_out_what_a_round_recorded(followers, open_orders, clock, celery_worker):
    approver = person("approver", "Approver")
    open_orders(followers, 250)
    clock.advance(simulated=True, hours=3)

    orders_poll_round()
    fan_out.delay()

    partial = Order.objects.filter(status=OrderStatus.PARTIAL).count()
    wait_for(lambda: Notification.objects.filter(user=approver).count() == partial)
    assert not Event.objects.filter(fanned_out=False).exists()
