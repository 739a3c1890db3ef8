"""One open order per link and service: a second order waits, and goes once the first is final."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from orders.models import EventKind, Order, OrderStatus
from orders.services import links
from orders.services.common import OrderActionError
from orders.services.links import lines_waiting, order_stop_waiting, order_waits_behind
from orders.services.placing import order_place, uncharged_total
from orders.services.spend import budget_spent
from orders.services.submitting import order_resolve, order_submit, orders_sweep
from orders.services.tracking import orders_poll_round
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.services import order_add
from tests.factories import link
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LINK = link(7)


def place(service, url: str = LINK, **kwargs) -> Order:
    return order_place(
        service=service, link=url, quantity=kwargs.pop("quantity", 100), enqueue=False, **kwargs
    )


def send(order: Order) -> Order:
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    return order


def finish_on_the_panel(clock) -> None:
    """Let the sandbox complete what it has, then poll every open order now."""
    clock.advance(simulated=True, days=2)
    Order.objects.exclude(next_check_at=None).update(next_check_at=timezone.now() - timedelta(seconds=1))
    orders_poll_round()


def kinds(order: Order) -> list[str]:
    return list(order.events.values_list("kind", flat=True))


def test_a_second_order_on_the_same_link_waits_and_is_sent_once_the_first_is_completed(followers, clock):
    first = send(place(followers))
    second = send(place(followers, url="http://www.instagram.com/p/post7/?igshid=abc"))

    assert first.status == OrderStatus.PENDING
    assert second.status == OrderStatus.WAITING_FOR_LINK
    assert order_waits_behind(second) == first
    assert SandboxOrder.objects.count() == 1
    assert f"Waits behind {first.code}" in second.events.get(kind=EventKind.LINK_WAIT).message

    finish_on_the_panel(clock)

    second.refresh_from_db()
    assert second.status == OrderStatus.QUEUED
    assert (
        f"{Order.objects.get(pk=first.pk).code} is completed"
        in second.events.get(kind=EventKind.LINK_FREE).message
    )
    assert send(second).status == OrderStatus.PENDING
    assert SandboxOrder.objects.count() == 2
    assert kinds(second) == [
        EventKind.CREATED,
        EventKind.LINK_WAIT,
        EventKind.LINK_FREE,
        EventKind.SUBMITTING,
        EventKind.ACCEPTED,
    ]
    assert order_submit(order_id=second.pk) is None  # sent exactly once


def test_another_link_or_another_service_does_not_wait(followers, catalog):
    likes = catalog("Default", category__startswith="Instagram Likes")
    send(place(followers))

    assert send(place(followers, url=link(8))).status == OrderStatus.PENDING
    assert send(place(likes)).status == OrderStatus.PENDING


def test_two_orders_waiting_behind_one_go_one_after_the_other(followers, clock):
    first = send(place(followers))
    second, third = send(place(followers)), send(place(followers))
    assert (second.status, third.status) == (OrderStatus.WAITING_FOR_LINK,) * 2
    assert order_waits_behind(third) == first

    finish_on_the_panel(clock)
    second.refresh_from_db(), third.refresh_from_db()
    assert (second.status, third.status) == (OrderStatus.QUEUED, OrderStatus.WAITING_FOR_LINK)
    assert order_waits_behind(third) == second  # now the one ahead of it
    assert send(third).status == OrderStatus.WAITING_FOR_LINK  # a stray task for it sends nothing
    assert send(second).status == OrderStatus.PENDING

    finish_on_the_panel(clock)
    third.refresh_from_db()
    assert third.status == OrderStatus.QUEUED
    assert send(third).status == OrderStatus.PENDING
    assert SandboxOrder.objects.count() == 3


def test_two_lines_of_one_submission_on_one_link_are_sent_one_after_the_other(followers, clock):
    lines = [(followers.pk, LINK), (followers.pk, LINK + "/"), (followers.pk, link(9))]
    assert lines_waiting(lines) == [False, True, False]
    orders = [place(followers, submission_token=f"t{n}") for n in (1, 2)]
    assert lines_waiting(lines) == [True, True, False]

    # The later line is tried first: it still waits for the earlier one.
    assert send(orders[1]).status == OrderStatus.WAITING_FOR_LINK
    assert send(orders[0]).status == OrderStatus.PENDING
    finish_on_the_panel(clock)
    assert send(orders[1]).status == OrderStatus.PENDING


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time anyway")
def test_four_workers_sending_four_orders_on_one_link_at_once_send_one(followers):
    orders = [place(followers, submission_token=f"race{n}") for n in range(4)]
    barrier = threading.Barrier(len(orders))

    def worker(order: Order) -> None:
        barrier.wait()
        try:
            order_submit(order_id=order.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert SandboxOrder.objects.count() == 1
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 1
    assert Order.objects.filter(status=OrderStatus.WAITING_FOR_LINK).count() == 3


def _someone_waits_for_a_link_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time anyway")
def test_an_earlier_order_approved_while_a_later_one_is_being_claimed_waits_for_it(followers, monkeypatch):
    earlier = place(followers, submission_token="a")
    Order.objects.filter(pk=earlier.pk).update(status=OrderStatus.AWAITING_APPROVAL)
    later = place(followers, submission_token="b")
    checked, approved_one_done = threading.Event(), threading.Event()
    real = links.orders_ahead

    def checked_then_paused(order: Order):
        found = [ahead.pk for ahead in real(order)[:1]]
        if order.pk == later.pk:
            # The later order saw nothing ahead (the earlier one awaited approval). Before it is
            # claimed, the earlier one is approved and sent: the link's lock must hold it back.
            checked.set()
            wait_for(lambda: approved_one_done.is_set() or _someone_waits_for_a_link_lock())
        return Order.objects.filter(pk__in=found)

    monkeypatch.setattr(links, "orders_ahead", checked_then_paused)

    def send_later() -> None:
        try:
            order_submit(order_id=later.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=send_later)
    thread.start()
    wait_for(checked.is_set)
    Order.objects.filter(pk=earlier.pk).update(status=OrderStatus.QUEUED)  # approved
    order_submit(order_id=earlier.pk)
    approved_one_done.set()
    thread.join()

    assert SandboxOrder.objects.count() == 1
    earlier.refresh_from_db(), later.refresh_from_db()
    assert (earlier.status, later.status) == (OrderStatus.WAITING_FOR_LINK, OrderStatus.PENDING)
    assert not earlier.last_error  # held back by us, not refused by the panel


def test_the_panels_active_order_sentence_puts_the_order_back_to_waiting_never_rejected(
    followers, account, clock
):
    # An order on the panel that is not ours (placed on the panel's own site, say).
    order_add(account=account, params={"service": str(followers.service_id), "link": LINK, "quantity": "100"})

    order = send(place(followers))

    assert order.status == OrderStatus.WAITING_FOR_LINK
    assert "active order with this link" in order.last_error
    assert not order.needs_attention
    assert kinds(order)[-1] == EventKind.LINK_WAIT
    # The sweeper tries again later; the panel still says no: waiting again, never rejected.
    later = timezone.now() + timedelta(hours=1)
    assert orders_sweep(now=later)["released"] == 1
    assert send(order).status == OrderStatus.WAITING_FOR_LINK

    clock.advance(simulated=True, days=2)  # the panel's order completes
    assert orders_sweep(now=later + timedelta(hours=1))["released"] == 1
    assert send(order).status == OrderStatus.PENDING
    assert not order.events.filter(kind=EventKind.REJECTED).exists()


def test_the_sweeper_leaves_an_order_waiting_behind_one_of_ours(followers):
    send(place(followers))
    waiting = send(place(followers))

    assert orders_sweep(now=timezone.now() + timedelta(hours=1))["released"] == 0
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.WAITING_FOR_LINK


def test_a_waiting_order_counts_toward_spend_like_a_queued_one(followers, sandbox):
    first = send(place(followers))
    waiting = send(place(followers))
    queued = place(followers, url=link(8))
    assert waiting.status == OrderStatus.WAITING_FOR_LINK and waiting.estimated_charge > 0

    spent = budget_spent(month=timezone.localdate(), currency=sandbox.currency, provider=sandbox)

    assert spent == first.estimated_charge + waiting.estimated_charge + queued.estimated_charge
    assert uncharged_total(provider=sandbox) == waiting.estimated_charge + queued.estimated_charge


def test_a_person_cancels_a_waiting_order_nothing_is_sent_or_charged_and_it_is_audited(
    followers, clock, admin_user
):
    person = admin_user
    first = send(place(followers))
    second, third = send(place(followers)), send(place(followers))

    order_stop_waiting(order=second, user=person, ip="10.0.0.1")

    second.refresh_from_db()
    assert second.status == OrderStatus.CANCELED and second.charge is None
    assert second.provider_order_id is None and second.finished_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.ORDER_CANCEL)
    assert (entry.actor_id, entry.before, entry.after) == (
        person.pk,
        {"status": "waiting_for_link"},
        {"status": "canceled", "sent": False},
    )
    third.refresh_from_db()
    assert third.status == OrderStatus.WAITING_FOR_LINK  # the first is still open
    assert order_waits_behind(third) == first
    with pytest.raises(OrderActionError):
        order_stop_waiting(order=first, user=person)

    finish_on_the_panel(clock)
    third.refresh_from_db()
    assert third.status == OrderStatus.QUEUED
    assert SandboxOrder.objects.count() == 1


def test_an_unconfirmed_order_resolved_as_not_placed_frees_the_link_for_the_next(followers, admin_user):
    first = send(place(followers))
    second = send(place(followers))
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.UNCONFIRMED)
    first.refresh_from_db()
    assert order_waits_behind(second) == first  # the panel may have it: still ahead

    order_resolve(order=first, placed=False, user=admin_user)

    second.refresh_from_db()
    assert second.status == OrderStatus.QUEUED
