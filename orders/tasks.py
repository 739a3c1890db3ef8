"""Thin task adapters around the order services: they take ids and own the retry policy."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from orders.models import OrderStatus
from orders.services import (
    order_batch_check,
    order_submit,
    orders_claim_due,
    orders_poll_round,
    orders_sweep,
    refills_poll_round,
    submit_backoff,
)
from orders.services.actions import refills_auto_round
from orders.services.scorecards import scorecards_refresh
from providers.models import Provider

logger = logging.getLogger(__name__)

# A batch still waiting after this long is dropped: its orders are claimed again when due.
STATUS_BATCH_EXPIRES = 300


@shared_task(bind=True)
def submit_order(self: Any, order_id: int) -> None:
    """Send one queued order; when the panel was unreachable (nothing sent), try again later.

    No other retry: an order that may have reached the panel is never sent again.
    """
    order = order_submit(order_id=order_id)
    if order is not None and order.status == OrderStatus.QUEUED:
        raise self.retry(countdown=submit_backoff(order.submit_attempts), max_retries=None)


@shared_task
def poll_orders() -> None:
    """Periodic: claim the orders due for a status check and start one task per 100 of them."""
    batches = orders_claim_due()
    for batch in batches:
        check_orders.apply_async((batch.provider_id, batch.rows), expires=STATUS_BATCH_EXPIRES)
    if batches:
        logger.info("poll: %d orders in %d batches", sum(len(b.rows) for b in batches), len(batches))


@shared_task
def check_orders(provider_id: int, rows: list[list[Any]]) -> None:
    """Check up to 100 claimed orders of one provider with one `status` call."""
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is not None:
        order_batch_check(provider=provider, rows=rows)


@shared_task
def check_orders_now(order_ids: list[int]) -> None:
    """Check the orders a person asked about ("Check now"), in this task, 100 per call."""
    report = orders_poll_round(ids=order_ids)
    logger.info("check now: %s", report.as_dict())


@shared_task
def poll_refills() -> None:
    """Periodic: check the refills that are due, 100 per call."""
    refills_poll_round()


@shared_task
def auto_refill() -> None:
    """Periodic: ask the refills the campaigns' auto-refill policies call for."""
    asked = refills_auto_round()
    if asked:
        logger.info("auto-refill: %d refills asked", asked)


@shared_task
def sweep_orders() -> None:
    """Periodic: orders stuck in `submitting` become unconfirmed; stale queued ones are sent."""
    result = orders_sweep()
    if any(result.values()):
        logger.warning("sweep: %s", result)


@shared_task
def refresh_scorecards() -> None:
    """Periodic: recompute every service's and provider's scorecard from our orders."""
    scorecards_refresh()
