"""A polling round's changes: recorded and told in the round, once, at one statement a batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jappanel.events import Occurrence, announce, happened
from notifications.models import Delivery, Endpoint, Event, Kind, Notification
from notifications.services.recording import occurrences_record
from orders.models import Order, OrderStatus
from orders.services.tracking import order_batch_check, orders_claim_due, orders_poll_round
from tests.factories import person

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rounds_partial_orders_are_recorded_and_told_once(followers, open_orders, clock, settings):
    settings.PROVIDER_MAX_CONCURRENCY = 1
    approver = person("approver", "Approver")
    open_orders(followers, 250)
    clock.advance(simulated=True, hours=3)

    orders_poll_round()

    partial = set(Order.objects.filter(status=OrderStatus.PARTIAL).values_list("code", flat=True))
    assert partial, "the sandbox ends some orders partial"
    events = Event.objects.filter(kind=Kind.ORDER_PARTIAL)
    assert {event.data["order_code"] for event in events} == partial
    # Placed by nobody (a command): whoever may resolve orders hears of them, in the round.
    assert Notification.objects.filter(user=approver).count() == len(partial)
    announce(
        Occurrence("order.moved", "retried", {"order_id": order.pk, "to": OrderStatus.PARTIAL})
        for order in Order.objects.filter(status=OrderStatus.PARTIAL)
    )
    assert events.count() == len(partial)
    assert Notification.objects.filter(user=approver).count() == len(partial)


def _claimed(orders: list[Order]) -> list[list]:
    (batch,) = orders_claim_due(ids=[order.pk for order in orders])
    return batch.rows


# What telling a batch of moves adds to the round, whatever the batch's size: on PostgreSQL one
# statement; SQLite has no INSERT inside WITH, so the events, the people's choices, the copies,
# the endpoints and the deliveries are five, between the BEGIN and COMMIT of their own transaction.
ADDED_STATEMENTS = {"postgresql": 1, "sqlite": 7}


def test_a_batch_of_moves_costs_the_round_a_fixed_few_statements(followers, open_orders, clock, sandbox):
    buyer = person("buyer", "Buyer")
    Endpoint.objects.create(name="Tool", type="webhook", url="https://tool.example.com/hook")
    warm_up, quiet, heard = (open_orders(followers, 40, first=first) for first in (1, 41, 81))
    Order.objects.update(user=buyer)
    clock.advance(simulated=True, hours=3)
    order_batch_check(provider=sandbox, rows=_claimed(warm_up))
    rows = _claimed(quiet)
    happened.disconnect(dispatch_uid="notifications_record")
    try:
        with CaptureQueriesContext(connection) as alone:
            order_batch_check(provider=sandbox, rows=rows)
    finally:
        happened.connect(occurrences_record, dispatch_uid="notifications_record")
    rows = _claimed(heard)
    Notification.objects.all().delete()
    Delivery.objects.all().delete()
    with CaptureQueriesContext(connection) as told:
        order_batch_check(provider=sandbox, rows=rows)

    moved = Order.objects.filter(pk__in=[o.pk for o in heard], status=OrderStatus.PARTIAL).count()
    assert moved, "the sandbox ends some orders partial"
    assert Notification.objects.filter(user=buyer).count() == moved
    # One request carries the batch's events to the endpoint.
    (delivery,) = Delivery.objects.all()
    codes = {order.code for order in heard}
    events = [
        e.pk
        for e in Event.objects.filter(kind=Kind.ORDER_PARTIAL).order_by("pk")
        if e.data["order_code"] in codes
    ]
    assert delivery.event_ids == events
    assert len(delivery.event_ids) == moved
    assert len(told) == len(alone) + ADDED_STATEMENTS[connection.vendor], [q["sql"][:60] for q in told]


def test_a_move_a_person_made_first_is_not_told(followers, open_orders, clock, sandbox):
    buyer = person("buyer", "Buyer")
    orders = open_orders(followers, 100)
    Order.objects.update(user=buyer)
    rows = _claimed(orders)
    clock.advance(simulated=True, hours=3)
    # Between the claim and the answer, a person settles every order: the round's writes lose.
    Order.objects.update(status=OrderStatus.CANCELED)

    order_batch_check(provider=sandbox, rows=rows)

    assert not Event.objects.exists()


def test_a_round_tells_its_batches_moves_together(followers, open_orders, clock, settings):
    settings.PROVIDER_MAX_CONCURRENCY = 1
    open_orders(followers, 250)
    clock.advance(simulated=True, hours=3)
    told: list[int] = []

    def count(sender: object = None, *, occurrences: list, **kwargs: object) -> None:
        told.append(len(occurrences))

    happened.connect(count, dispatch_uid="test_round_count", weak=False)
    try:
        report = orders_poll_round()
    finally:
        happened.disconnect(dispatch_uid="test_round_count")

    # Three calls of up to 100 orders; their moves reach the listeners in one announcement.
    assert report.checked == 250
    assert told == [report.changed]
