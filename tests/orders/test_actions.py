"""Refills and cancels, single and bulk, each per-order answer recorded; checking status now."""

from __future__ import annotations

import pytest
from django.utils import timezone

from orders.models import CancelRequest, EventKind, Order, OrderStatus, Refill, RefillStatus
from orders.services.actions import (
    order_cancel,
    orders_cancel,
    refill_request,
    refills_poll_round,
    refills_request,
)
from orders.services.common import OrderActionError
from orders.services.tracking import orders_check_now, orders_poll_round
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.services import refill_create
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def completed(followers, open_orders, clock):
    """`completed(n)`: orders the sandbox finished a day ago, so that a refill is allowed."""

    def make(count: int, first: int = 1) -> list[Order]:
        orders = open_orders(followers, count, first=first)
        clock.advance(simulated=True, hours=3)
        orders_poll_round()
        clock.advance(simulated=True, hours=25)
        return list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("service", "provider"))

    return make


def test_a_refill_of_one_completed_order_is_requested_then_followed_to_its_end(
    completed, clock, panel_calls, admin_user
):
    (order,) = completed(1)

    refill = refill_request(order=order, user=admin_user)

    assert refill.provider_refill_id is not None and refill.status == RefillStatus.PENDING
    assert ("refill", 0) in panel_calls.calls  # the single form: `order`, not `orders`
    assert order.events.filter(kind=EventKind.REFILL, user=admin_user).count() == 1
    clock.advance(simulated=True, hours=14)
    Refill.objects.update(next_check_at=timezone.now())

    report = refills_poll_round()

    refill.refresh_from_db()
    assert (report.checked, report.changed, report.calls) == (1, 1, 1)
    assert refill.status in (RefillStatus.COMPLETED, RefillStatus.REJECTED)
    assert refill.finished_at is not None and refill.next_check_at is None


def test_bulk_refills_use_one_call_and_record_each_orders_answer(completed, catalog, panel_calls):
    orders = completed(3)
    # Asked on the panel's own site: its refill runs, and the panel refuses another.
    refill_create(order=SandboxOrder.objects.get(pk=orders[0].provider_order_id))
    panel_calls.calls.clear()

    refills = refills_request(orders=orders)

    assert panel_calls.calls == [("refill", 3)]
    by_order = {refill.order_id: refill for refill in refills}
    assert by_order[orders[0].pk].status == RefillStatus.REFUSED
    assert by_order[orders[0].pk].error == "The refill task is not completed for this order"
    assert all(by_order[o.pk].provider_refill_id for o in orders[1:])


def test_no_second_refill_is_asked_while_one_is_pending(completed, panel_calls):
    orders = completed(2)
    refill_request(order=orders[0])
    panel_calls.calls.clear()

    refills = refills_request(orders=orders)

    assert [refill.order_id for refill in refills] == [orders[1].pk]
    assert panel_calls.calls == [("refill", 0)]  # the single form, for the one order left
    with pytest.raises(OrderActionError, match="still pending"):
        refill_request(order=orders[0])


def test_a_refill_is_refused_before_any_call_where_the_service_or_state_does_not_allow_it(
    catalog, open_orders, panel_calls
):
    no_refill = catalog("Default", refill=False, category__startswith="Instagram")
    (pending,) = open_orders(no_refill, 1)
    with pytest.raises(OrderActionError, match="no refill"):
        refill_request(order=pending)
    assert refills_request(orders=[pending]) == []
    assert panel_calls.calls == []


def test_one_order_is_canceled_and_checked_again_at_once(followers, open_orders, admin_user):
    (order,) = open_orders(followers, 1)
    Order.objects.filter(pk=order.pk).update(next_check_at=None)

    request = order_cancel(order=order, user=admin_user)

    assert (request.accepted, request.answer, request.user) == (True, "Cancel accepted", admin_user)
    order.refresh_from_db()
    assert order.next_check_at is not None
    orders_poll_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED and order.next_check_at is None


def test_bulk_cancel_records_each_orders_answer(followers, open_orders, clock, panel_calls):
    (done,) = open_orders(followers, 1)
    clock.advance(simulated=True, hours=3)
    orders_poll_round()
    Order.objects.filter(pk=done.pk).update(status=OrderStatus.IN_PROGRESS)  # we have not seen it finish
    (running,) = open_orders(followers, 1, first=2)
    panel_calls.calls.clear()
    orders = list(Order.objects.filter(pk__in=[running.pk, done.pk]).select_related("service", "provider"))

    orders_cancel(orders=orders)

    assert panel_calls.calls == [("cancel", 2)]
    answers = dict(CancelRequest.objects.values_list("order_id", "answer"))
    assert answers[done.pk] == "This order cannot be canceled"
    assert CancelRequest.objects.get(order=done).accepted is False
    assert CancelRequest.objects.get(order=running).accepted is True


def test_an_order_whose_service_cannot_be_canceled_is_refused(catalog, open_orders):
    no_cancel = catalog("Default", cancel=False, category__startswith="Instagram")
    (order,) = open_orders(no_cancel, 1)
    with pytest.raises(OrderActionError, match="cannot be canceled"):
        order_cancel(order=order)
    assert not CancelRequest.objects.exists()


@pytest.mark.worker
def test_check_now_asks_the_panel_at_once_and_records_who_asked(
    celery_worker, followers, open_orders, admin_user
):
    (order,) = open_orders(followers, 1)
    Order.objects.filter(pk=order.pk).update(next_check_at=timezone.now().replace(year=2100))
    order.refresh_from_db()

    assert orders_check_now(orders=[order], user=admin_user) == 1

    assert order.events.get(kind=EventKind.CHECK).user == admin_user
    checked = wait_for(lambda: Order.objects.filter(pk=order.pk, remains__isnull=False).first())
    assert (checked.remains, checked.provider_status) == (100, "Pending")
