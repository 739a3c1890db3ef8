"""Mail: one message per notification, or one daily digest per person; plain text and HTML."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Mail, Notification

logger = logging.getLogger(__name__)


def absolute(url: str) -> str:
    """A path of this site as a link that works from a mail or another tool."""
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url


def _message(user: object, subject: str, template: str, context: dict[str, object]) -> EmailMultiAlternatives:
    context = {**context, "site_url": settings.SITE_URL.rstrip("/"), "user": user}
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string(f"notifications/mail/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],  # type: ignore[attr-defined]
    )
    message.attach_alternative(render_to_string(f"notifications/mail/{template}.html", context), "text/html")
    return message


def _claim(notifications: QuerySet[Notification], now: datetime) -> list[Notification]:
    """Take the not yet mailed ones of `notifications`: a conditional UPDATE, so two workers (or
    a retried task) never send one twice."""
    ids = list(notifications.filter(mailed_at__isnull=True, user__email__gt="").values_list("pk", flat=True))
    claimed = Notification.objects.filter(pk__in=ids, mailed_at__isnull=True).update(mailed_at=now)
    if not claimed:
        return []
    return list(
        Notification.objects.filter(pk__in=ids, mailed_at=now).select_related("event", "user").order_by("pk")
    )


def _send(messages: list[EmailMultiAlternatives], claimed: list[Notification]) -> None:
    try:
        with get_connection() as connection:
            connection.send_messages(messages)
    except Exception:
        # Not sent: give the claim back so that the retry sends them.
        Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(mailed_at=None)
        raise


def _by_person(claimed: list[Notification]) -> list[list[Notification]]:
    by_person: dict[int, list[Notification]] = defaultdict(list)
    for notification in claimed:
        by_person[notification.user_id].append(notification)
    return list(by_person.values())


def _listing(items: list[Notification], subject: str) -> EmailMultiAlternatives:
    return _message(
        items[0].user, subject, "digest", {"items": [(n.event, absolute(n.event.url)) for n in items]}
    )


def notifications_mail(*, event_ids: Sequence[int]) -> int:
    """Mail each person who chose "email" their notifications of these events: the mail of the
    one event, or one mail listing them when a burst brings several at once (a round's
    unconfirmed orders); return how many mails were sent."""
    messages = []
    claimed = _claim(Notification.objects.filter(event_id__in=event_ids, mail=Mail.NOW), timezone.now())
    for items in _by_person(claimed):
        if len(items) == 1:
            event = items[0].event
            messages.append(
                _message(
                    items[0].user,
                    f"[jappanel] {event.title}",
                    "event",
                    {"event": event, "link": absolute(event.url)},
                )
            )
        else:
            messages.append(_listing(items, f"[jappanel] {len(items)} notifications"))
    if messages:
        _send(messages, claimed)
    return len(messages)


def digests_send(*, now: datetime | None = None) -> int:
    """One mail per person with every digest notification not mailed yet; return how many mails."""
    now = now or timezone.now()
    claimed = _claim(Notification.objects.filter(mail=Mail.DIGEST), now)
    messages = [
        _listing(items, f"[jappanel] {len(items)} notification{'s' if len(items) != 1 else ''} today")
        for items in _by_person(claimed)
    ]
    if messages:
        _send(messages, claimed)
    return len(messages)
