"""Recording occurrences as events (once each) and handing each to its people and endpoints.

Recording is one INSERT per announcement, in the announcer's transaction; the fan-out (each
person's copy, each endpoint's delivery) runs after commit: at once for a few events (what a
person just did shows in the bell before their next click), and for a large batch (a polling
round) by a task that takes every event not fanned out yet, thousands at a time.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from jappanel.db import bulk_insert
from jappanel.events import Occurrence
from notifications.models import Choice, Delivery, Endpoint, Event, Kind, Mail, Notification, Preference
from notifications.services.rules import Draft, drafts_for, people_who_may, worth_reading

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
# More occurrences than this in one announcement are fanned out by a task, not at once.
INLINE_FAN_OUT = 20
FAN_OUT_BATCH = 5000


def default_choice(kind: str) -> str:
    return DEFAULTS.get(kind, Choice.INBOX)


def occurrences_record(sender: Any = None, *, occurrences: Sequence[Occurrence], **kwargs: Any) -> list[int]:
    """Record what `occurrences` mean as events, skipping those recorded before; return the
    new events' ids. Fanned out after commit.

    Connected to `jappanel.events.happened`: it runs in the announcer's transaction, so an
    event exists exactly when what it tells of was committed. A failure here is logged and
    undone (a savepoint), never the announcer's: an order moves whether or not anyone is told.
    """
    # A person's action announces a few things: told before their next click. A polling
    # round's batch announces up to a hundred: fanned out with the round's other batches.
    inline = len(occurrences) <= INLINE_FAN_OUT
    occurrences = worth_reading(occurrences)
    if not occurrences:
        return []
    # Inside the announcer's transaction, a savepoint; outside one (a polling round's batch,
    # committed already) the one INSERT is atomic by itself, and commits without waiting.
    outside = not connection.in_atomic_block
    try:
        with nullcontext() if outside else transaction.atomic():
            drafts = list({draft.key: draft for draft in drafts_for(occurrences)}.values())
            new = _insert_new(drafts, asynchronous=outside) if drafts else []
    except Exception:
        logger.exception("notifications: %d occurrences not recorded", len(occurrences))
        return []
    if new:
        transaction.on_commit(lambda: _fan_out_after_commit(new, inline=inline), robust=True)
    return new


def _commit_without_waiting() -> None:
    """This transaction's commit need not wait for the disk: PostgreSQL's asynchronous commit.
    A crash in the next fraction of a second may lose what it wrote (events, their copies),
    never what they tell of (the orders and their own events)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# The columns of an event as an INSERT writes them, with their SQL types on PostgreSQL.
_EVENT_COLUMNS = {
    "kind": "varchar",
    "key": "varchar",
    "title": "varchar",
    "url": "varchar",
    "data": "jsonb",
    "campaign_id": "bigint",
    "audience": "jsonb",
}


def _insert_new(drafts: list[Draft], *, asynchronous: bool = False) -> list[int]:
    """One INSERT … ON CONFLICT DO NOTHING: an event whose key exists is not recorded again, even
    when two processes race to record it. On PostgreSQL the rows travel as one JSON parameter
    (hundreds of placeholders cost more to bind than the insert itself), as in polling, and
    `asynchronous` (a statement of its own) commits it without waiting for the disk (see
    `_commit_without_waiting`): one round trip in all."""
    rows = [
        {
            "kind": d.kind,
            "key": d.key[:200],
            "title": d.title[:300],
            "url": d.url,
            "data": d.data,
            "campaign_id": d.campaign_id,
            "audience": {
                "people": sorted(d.people - {None}),
                "action": d.action,
                "exclude": sorted(d.exclude - {None}),
            },
        }
        for d in drafts
    ]
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in (*_EVENT_COLUMNS, "at", "fanned_out"))
    conflict = f"ON CONFLICT ({quote('key')}) DO NOTHING RETURNING {quote('id')}"
    table = quote(Event._meta.db_table)
    if connection.vendor == "postgresql":
        record = ", ".join(f"{name} {kind}" for name, kind in _EVENT_COLUMNS.items())
        # set_config(…, true) lasts until this statement's own commit, which it makes asynchronous.
        sql = (
            f"INSERT INTO {table} ({names}) SELECT {', '.join(_EVENT_COLUMNS)}, %s, false "
            f"FROM jsonb_to_recordset(%s::jsonb) AS x({record})"
            + (" WHERE set_config('synchronous_commit', 'off', true) = 'off'" if asynchronous else "")
            + f" {conflict}"
        )
        params: list[Any] = [timezone.now(), json.dumps(rows, cls=DjangoJSONEncoder)]
    else:
        row_sql = "(" + ", ".join(["%s"] * (len(_EVENT_COLUMNS) + 2)) + ")"
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([row_sql] * len(rows))} {conflict}"
        fields = [Event._meta.get_field(name) for name in (*_EVENT_COLUMNS, "at", "fanned_out")]
        now = timezone.now()
        params = [
            field.get_db_prep_save(value, connection)
            for row in rows
            for field, value in zip(fields, [*row.values(), now, False], strict=True)
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _fan_out_after_commit(event_ids: list[int], *, inline: bool) -> None:
    if inline:
        events_fan_out(event_ids=event_ids)
        return
    from notifications.tasks import fan_out

    # A second or so later: the batches of one polling round arriving meanwhile go together.
    fan_out.apply_async(countdown=settings.NOTIFY_FAN_OUT_DELAY_SECONDS)


def events_fan_out(*, event_ids: Sequence[int] | None = None, limit: int = FAN_OUT_BATCH) -> int:
    """Give the events not fanned out yet (of `event_ids`, or the oldest `limit`) to their people,
    as each chose, and to the endpoints that want them; mail and webhooks leave after commit.
    Return how many events. Two runs at once take different events (SKIP LOCKED)."""
    with transaction.atomic():
        _commit_without_waiting()
        pending = Event.objects.select_for_update(skip_locked=True).filter(fanned_out=False)
        if event_ids is not None:
            pending = pending.filter(pk__in=event_ids)
        events = list(pending.order_by("pk").only("pk", "kind", "campaign_id", "audience")[:limit])
        if not events:
            return 0
        copies = _copies(events)
        bulk_insert(Notification, copies)
        endpoints = list(Endpoint.objects.filter(active=True))
        deliveries = [
            {
                "endpoint_id": endpoint.pk,
                "event_id": event.pk,
                "delivery_id": uuid.uuid4(),
                **DELIVERY_DEFAULTS(),
            }
            for event in events
            for endpoint in endpoints
            if endpoint.wants(event.kind, event.campaign_id)
        ]
        bulk_insert(Delivery, deliveries)
        ids = [event.pk for event in events]
        Event.objects.filter(pk__in=ids).update(fanned_out=True)
        mail_now = sorted({row["event_id"] for row in copies if row["mail"] == Mail.NOW})
        delivery_ids = [str(row["delivery_id"]) for row in deliveries]
        transaction.on_commit(lambda: _enqueue(mail_now, delivery_ids), robust=True)
    return len(events)


def DELIVERY_DEFAULTS() -> dict[str, Any]:  # noqa: N802 (a row's defaults, fresh each time)
    now = timezone.now()
    return {
        "status": Delivery.Status.PENDING,
        "attempts": 0,
        "error": "",
        "created_at": now,
        "next_attempt_at": now,
        "response_code": None,
        "response_ms": None,
        "finished_at": None,
    }


def _copies(events: list[Event]) -> list[dict[str, Any]]:
    allowed: dict[str, set[int]] = {}
    audiences: dict[int, set[int]] = {}
    for event in events:
        audience = event.audience or {}
        people = set(audience.get("people", []))
        action = audience.get("action")
        if action:
            if action not in allowed:
                allowed[action] = people_who_may(action)
            people |= allowed[action]
        audiences[event.pk] = people - set(audience.get("exclude", []))
    everyone = set().union(*audiences.values())
    if not everyone:
        return []
    chosen = {
        (user_id, kind): choice
        for user_id, kind, choice in Preference.objects.filter(
            user_id__in=everyone, kind__in={event.kind for event in events}
        ).values_list("user_id", "kind", "choice")
    }
    copies = []
    for event in events:
        for user_id in sorted(audiences[event.pk]):
            choice = chosen.get((user_id, event.kind)) or default_choice(event.kind)
            if choice != Choice.OFF:
                copies.append(
                    {
                        "event_id": event.pk,
                        "user_id": user_id,
                        "read_at": None,
                        "mail": MAIL_FOR[choice],
                        "mailed_at": None,
                    }
                )
    return copies


def _enqueue(mail_event_ids: list[int], delivery_ids: list[str]) -> None:
    from notifications.tasks import deliver_many, send_mails

    for start in range(0, len(mail_event_ids), 500):
        send_mails.delay(mail_event_ids[start : start + 500])
    for start in range(0, len(delivery_ids), 100):
        deliver_many.delay(delivery_ids[start : start + 100])
