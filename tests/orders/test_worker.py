"""Orders through a real Celery worker on the configured broker (Redis in CI)."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderStatus
from orders.services import order_place, orders_sweep
from orders.tasks import poll_orders
from providers.sandbox.models import Order as SandboxOrder
from tests.orders.conftest import link
from tests.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_placed_order_is_sent_by_the_worker_after_commit(celery_worker, followers):
    order = order_place(service=followers, link=link(), quantity=100)

    sent = wait_for(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).first())

    assert sent.provider_order_id == SandboxOrder.objects.get().pk


def test_the_sweeper_sends_an_order_left_queued_once(celery_worker, followers):
    order = order_place(service=followers, link=link(), quantity=100, enqueue=False)
    Order.objects.filter(pk=order.pk).update(status_changed_at=order.created_at.replace(year=2020))

    assert orders_sweep() == {"unconfirmed": 0, "requeued": 1}

    wait_for(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).exists())
    assert SandboxOrder.objects.count() == 1


def test_a_polling_round_runs_one_task_per_batch_in_the_worker(celery_worker, followers, clock):
    orders = [order_place(service=followers, link=link(n), quantity=100) for n in range(3)]
    wait_for(lambda: Order.objects.filter(status=OrderStatus.PENDING).count() == 3)
    clock.advance(simulated=True, days=2)
    Order.objects.update(next_check_at=orders[0].created_at)

    poll_orders.delay()

    wait_for(lambda: not Order.objects.exclude(status__in=["completed", "partial"]).exists())
    assert all(order.next_check_at is None for order in Order.objects.all())
