"""Orders through a real Celery worker on the configured broker (Redis in CI)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.utils import timezone

from jappanel.celery import app as celery_app
from orders.models import Order, OrderStatus
from orders.services.placing import order_place
from orders.services.submitting import orders_sweep
from orders.services.tracking import orders_check_now
from orders.tasks import poll_orders
from providers.sandbox.models import Order as SandboxOrder
from tests.conftest import purge
from tests.factories import link
from tests.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_placed_order_is_sent_by_the_worker_after_commit(celery_worker, followers):
    order = order_place(service=followers, link=link(), quantity=100)

    sent = wait_for(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).first())

    assert sent.provider_order_id == SandboxOrder.objects.get().pk


def test_the_sweeper_sends_an_order_left_queued_once(celery_worker, followers):
    order = order_place(service=followers, link=link(), quantity=100, enqueue=False)
    Order.objects.filter(pk=order.pk).update(status_changed_at=order.created_at.replace(year=2020))

    assert orders_sweep() == {"unconfirmed": 0, "requeued": 1, "released": 0}

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


@pytest.fixture
def polling_backlog(interactive_worker, _private_celery_queues: dict[str, str]) -> Callable[[], int]:
    """A hundred polling rounds waiting in the default queue; returns how many still wait."""
    queue = _private_celery_queues[settings.CELERY_TASK_DEFAULT_QUEUE]
    purge([queue])
    for _ in range(100):
        poll_orders.delay()

    def waiting() -> int:
        with celery_app.connection_for_write() as connection:
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count

    return waiting


def test_an_order_is_sent_by_the_interactive_worker_while_polling_rounds_wait(
    interactive_worker, polling_backlog, followers
):
    order = order_place(service=followers, link=link(), quantity=100)

    wait_for(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).exists())
    assert SandboxOrder.objects.count() == 1
    assert polling_backlog() == 100


def test_check_now_is_answered_by_the_interactive_worker_while_polling_rounds_wait(
    interactive_worker, polling_backlog, followers, open_orders
):
    (order,) = open_orders(followers, 1)
    Order.objects.filter(pk=order.pk).update(next_check_at=timezone.now().replace(year=2100))

    assert orders_check_now(orders=Order.objects.filter(pk=order.pk)) == 1

    checked = wait_for(lambda: Order.objects.filter(pk=order.pk, remains__isnull=False).first())
    assert (checked.remains, checked.provider_status) == (100, "Pending")
    assert polling_backlog() == 100
