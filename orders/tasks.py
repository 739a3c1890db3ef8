"""Thin task adapters around the order services: they take ids and own the retry policy."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task

from orders.services.actions import refills_auto_round, refills_poll_round
from orders.services.scorecards import scorecards_refresh
from orders.services.submitting import orders_submit, orders_sweep, submit_backoff
from orders.services.tracking import orders_poll_round, round_seconds

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def submit_orders(self: Any, order_ids: list[int]) -> None:
    """Send queued orders (a person's submission), several at a time; those the panel provably
    never got (or refused for its rate limit) are tried again later, with backoff.

    No other retry: an order that may have reached the panel is never sent again.
    """
    again = orders_submit(order_ids=order_ids, until=time.monotonic() + round_seconds())
    if again:
        countdown = submit_backoff(min(order.submit_attempts for order in again))
        raise self.retry(args=([order.pk for order in again],), countdown=countdown, max_retries=None)


@shared_task
def poll_orders() -> None:
    """Periodic: check every order due, PROVIDER_MAX_CONCURRENCY calls at a time per provider."""
    report = orders_poll_round()
    if report.due:
        logger.info("poll: %s", report.as_dict())


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
