"""Thin task adapters: they take ids, call one service and own the retry policy."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from notifications.services.health import health_check
from notifications.services.mail import digests_send, notifications_mail
from notifications.services.webhooks import deliveries_resume, delivery_attempt

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8)
def send_mails(self: Any, event_ids: list[int]) -> None:
    """Mail these events to whoever chose mail; a failing mail server is tried again, up to about a day."""
    try:
        notifications_mail(event_ids=event_ids)
    except OSError as exc:  # smtplib's errors are OSErrors, like a refused connection
        logger.warning("notification mail not sent: %s", exc)
        raise self.retry(countdown=settings.NOTIFY_WEBHOOK_BACKOFF_SECONDS * 2**self.request.retries) from exc


@shared_task
def deliver(delivery_id: int) -> None:
    """Send one delivery; on failure schedule the next attempt (exponential backoff, up to a day)."""
    wait = delivery_attempt(delivery_id=delivery_id)
    if wait is not None:
        deliver.apply_async((delivery_id,), countdown=wait)


@shared_task
def deliver_many(delivery_ids: list[int]) -> None:
    """One task per delivery of these (by pk)."""
    for pk in delivery_ids:
        # A message from before 0004 names UUIDs: `resume_deliveries` starts those.
        if isinstance(pk, int):
            deliver.delay(pk)


@shared_task
def resume_deliveries() -> None:
    """Periodic: deliveries whose task was lost start again."""
    deliveries_resume()


@shared_task
def send_digests() -> None:
    """Periodic (daily): each person's digest."""
    digests_send()


@shared_task
def check_health() -> None:
    """Periodic: tell the managers when the worker or the scheduler stopped."""
    health_check()
