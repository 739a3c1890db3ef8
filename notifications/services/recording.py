"""Recording occurrences as events (once each) and handing each to its people and endpoints."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from jappanel.events import Occurrence
from notifications.models import Choice, Delivery, Endpoint, Event, Kind, Mail, Notification, Preference
from notifications.services.rules import Draft, drafts_for, people_who_may

logger = logging.getLogger(__name__)

# What a person hears without choosing: mail for what waits on them or stops the team.
DEFAULTS: dict[str, str] = {
    Kind.ORDER_UNCONFIRMED: Choice.EMAIL,
    Kind.APPROVAL_REQUESTED: Choice.EMAIL,
    Kind.APPROVAL_DECIDED: Choice.EMAIL,
    Kind.BALANCE_LOW: Choice.EMAIL,
    Kind.HEALTH: Choice.EMAIL,
    Kind.ENDPOINT_DISABLED: Choice.EMAIL,
    Kind.BUDGET_REACHED: Choice.DIGEST,
    Kind.SYNC_FAILED: Choice.DIGEST,
    Kind.CATALOG_CHANGED: Choice.DIGEST,
}
MAIL_FOR = {Choice.EMAIL: Mail.NOW, Choice.DIGEST: Mail.DIGEST, Choice.INBOX: Mail.NONE}


def default_choice(kind: str) -> str:
    return DEFAULTS.get(kind, Choice.INBOX)


def occurrences_record(
    sender: Any = None, *, occurrences: Sequence[Occurrence], **kwargs: Any
) -> list[Event]:
    """Record what `occurrences` mean as events, skipping those recorded before, and fan each
    new one out to its people and endpoints; mail and webhooks leave after commit.

    Connected to `jappanel.events.happened`: it runs in the announcer's transaction, so an
    event exists exactly when what it tells of was committed. A failure here is logged and
    undone (a savepoint), never the announcer's: an order moves whether or not anyone is told.
    """
    try:
        with transaction.atomic():
            return _record(occurrences)
    except Exception:
        logger.exception("notifications: %d occurrences not recorded", len(occurrences))
        return []


def _record(occurrences: Sequence[Occurrence]) -> list[Event]:
    drafts = _unique(drafts_for(occurrences))
    if not drafts:
        return []
    events = _insert_new(drafts)
    if events:
        events_fan_out(events=events, drafts={d.key: d for d in drafts})
    return events


def _unique(drafts: list[Draft]) -> list[Draft]:
    return list({draft.key: draft for draft in drafts}.values())


def _insert_new(drafts: list[Draft]) -> list[Event]:
    seen = set(Event.objects.filter(key__in=[d.key for d in drafts]).values_list("key", flat=True))
    fresh = [
        Event(kind=d.kind, key=d.key, title=d.title[:300], url=d.url, data=d.data, campaign_id=d.campaign_id)
        for d in drafts
        if d.key not in seen
    ]
    if not fresh:
        return []
    try:
        with transaction.atomic():
            return Event.objects.bulk_create(fresh)
    except IntegrityError:
        # Another process recorded some of them meanwhile: keep only ours.
        created = []
        for event in fresh:
            with transaction.atomic():
                event, new = Event.objects.get_or_create(key=event.key, defaults=_fields(event))
            if new:
                created.append(event)
        return created


def _fields(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in ("kind", "title", "url", "data", "campaign_id")}


def events_fan_out(*, events: list[Event], drafts: dict[str, Draft]) -> None:
    """Each person's copy (as their preference says) and each endpoint's delivery."""
    allowed: dict[str, set[int]] = {}
    audiences: dict[int, set[int]] = {}
    for event in events:
        draft = drafts[event.key]
        people = set(draft.people)
        if draft.action:
            if draft.action not in allowed:
                allowed[draft.action] = people_who_may(draft.action)
            people |= allowed[draft.action]
        audiences[event.pk] = people - draft.exclude - {None}
    everyone = set().union(*audiences.values())
    kinds = {event.kind for event in events}
    chosen = (
        {
            (user_id, kind): choice
            for user_id, kind, choice in Preference.objects.filter(
                user_id__in=everyone, kind__in=kinds
            ).values_list("user_id", "kind", "choice")
        }
        if everyone
        else {}
    )
    copies = []
    for event in events:
        for user_id in audiences[event.pk]:
            choice = chosen.get((user_id, event.kind)) or default_choice(event.kind)
            if choice != Choice.OFF:
                copies.append(Notification(event=event, user_id=user_id, mail=MAIL_FOR[choice]))
    Notification.objects.bulk_create(copies, batch_size=2000)
    endpoints = list(Endpoint.objects.filter(active=True))
    deliveries = [
        Delivery(endpoint=endpoint, event=event)
        for event in events
        for endpoint in endpoints
        if endpoint.wants(event.kind, event.campaign_id)
    ]
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    mail_now = [copy.pk for copy in copies if copy.mail == Mail.NOW]
    delivery_ids = [delivery.pk for delivery in deliveries]
    if mail_now or delivery_ids:
        transaction.on_commit(lambda: _enqueue(mail_now, delivery_ids), robust=True)


def _enqueue(notification_ids: list[int], delivery_ids: list[int]) -> None:
    from notifications.tasks import deliver, send_mails

    for start in range(0, len(notification_ids), 500):
        send_mails.delay(notification_ids[start : start + 500])
    for delivery_id in delivery_ids:
        deliver.delay(delivery_id)
