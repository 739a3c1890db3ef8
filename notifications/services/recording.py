"""Recording occurrences as events (once each), with each person's copy and each endpoint's
delivery, in the announcer's transaction.

On PostgreSQL one statement records a batch: the events, the copies (each person's choice read
in the same statement) and the deliveries (up to EVENTS_PER_DELIVERY events each), so a polling
round's thousand changes (gathered by `jappanel.events.BatchedAnnouncer`) cost one round trip.
Mail and webhooks leave after commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from jappanel.events import Occurrence
from notifications.models import (
    EVENTS_PER_DELIVERY,
    Choice,
    Delivery,
    Endpoint,
    Event,
    Kind,
    Mail,
    Notification,
    Preference,
)
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


def default_choice(kind: str) -> str:
    return DEFAULTS.get(kind, Choice.INBOX)


@dataclass
class Recorded:
    """What one announcement recorded: the new events, and what leaves after commit."""

    event_ids: list[int] = field(default_factory=list)
    mail_event_ids: list[int] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)


def occurrences_record(sender: Any = None, *, occurrences: Sequence[Occurrence], **kwargs: Any) -> list[int]:
    """Record what `occurrences` mean as events, skipping those recorded before, each with its
    people's copies and its endpoints' deliveries; return the new events' ids.

    Connected to `jappanel.events.happened`: it runs in the announcer's transaction, so an
    event exists exactly when what it tells of was committed. A failure here is logged and
    undone (a savepoint), never the announcer's: an order moves whether or not anyone is told.
    """
    occurrences = worth_reading(occurrences)
    if not occurrences:
        return []
    # Inside the announcer's transaction, a savepoint; outside one (a polling round's batch,
    # committed already) the one statement is atomic by itself, and commits without waiting.
    outside = not connection.in_atomic_block
    try:
        with nullcontext() if outside and connection.vendor == "postgresql" else transaction.atomic():
            drafts = list({draft.key: draft for draft in drafts_for(occurrences)}.values())
            recorded = _record(drafts, asynchronous=outside) if drafts else Recorded()
    except Exception:
        logger.exception("notifications: %d occurrences not recorded", len(occurrences))
        return []
    if recorded.mail_event_ids or recorded.delivery_ids:
        transaction.on_commit(lambda: _enqueue(recorded.mail_event_ids, recorded.delivery_ids), robust=True)
    return recorded.event_ids


def _hearers(drafts: list[Draft]) -> dict[str, list[int]]:
    """Each draft's people by its key: those named, and everyone who may do its action, less
    those excluded."""
    allowed: dict[str, set[int]] = {}
    hearers = {}
    for draft in drafts:
        people = set(draft.people)
        if draft.action:
            if draft.action not in allowed:
                allowed[draft.action] = people_who_may(draft.action)
            people |= allowed[draft.action]
        hearers[draft.key] = sorted(people - draft.exclude - {None})
    return hearers


def _event_row(draft: Draft) -> dict[str, Any]:
    return {
        "kind": draft.kind,
        "key": draft.key[:200],
        # One line: a mail's subject refuses line breaks, and a panel's names may hold any.
        "title": " ".join(draft.title.split())[:300],
        "url": draft.url,
        "data": draft.data,
        "campaign_id": draft.campaign_id,
    }


def _record(drafts: list[Draft], *, asynchronous: bool) -> Recorded:
    hearers = _hearers(drafts)
    rows = [{**_event_row(draft), "hearers": hearers[draft.key]} for draft in drafts]
    if connection.vendor == "postgresql":
        return _record_in_one_statement(rows, asynchronous=asynchronous)
    return _record_step_by_step(rows)


# The columns of an event and of a draft's row, with their SQL types on PostgreSQL.
_ROW_COLUMNS = {
    "kind": "varchar",
    "key": "varchar",
    "title": "varchar",
    "url": "varchar",
    "data": "jsonb",
    "campaign_id": "bigint",
    "hearers": "jsonb",
}
_EVENT_COLUMNS = [name for name in _ROW_COLUMNS if name != "hearers"]
# A new delivery's status, attempts and error.
_PENDING = {"status": Delivery.Status.PENDING, "attempts": 0, "error": ""}


def _record_in_one_statement(rows: list[dict[str, Any]], *, asynchronous: bool) -> Recorded:
    """One INSERT … ON CONFLICT DO NOTHING of the events (an event whose key exists is not
    recorded again, even when two processes race to record it), and in the same statement the
    copies and deliveries of the new ones.

    The rows travel as one JSON parameter (hundreds of placeholders cost more to bind than the
    insert itself); each copy's mail comes from the person's `Preference` or the kind's default
    (`DEFAULTS`, `MAIL_FOR`); each endpoint takes what `Endpoint.wants`, in deliveries of up to
    EVENTS_PER_DELIVERY events. `asynchronous` commits without waiting for the disk (the
    statement is its own transaction then): a crash in the next fraction of a second may lose
    the events, never what they tell of.
    """
    q = connection.ops.quote_name
    tables = {
        m.__name__.lower(): q(m._meta.db_table) for m in (Event, Notification, Delivery, Preference, Endpoint)
    }
    record = ", ".join(f"{name} {kind}" for name, kind in _ROW_COLUMNS.items())
    names = ", ".join(q(name) for name in _EVENT_COLUMNS)
    quietly = " WHERE set_config('synchronous_commit', 'off', true) = 'off'" if asynchronous else ""
    sql = f"""
        WITH d AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x({record})),
        new AS (
            INSERT INTO {tables["event"]} ({names}, "at") SELECT {names}, %s FROM d{quietly}
            ON CONFLICT ("key") DO NOTHING RETURNING id, kind, "key", campaign_id
        ),
        heard AS (
            SELECT new.id AS event_id, h.user_id::bigint AS user_id,
                   COALESCE(p.choice, %s::jsonb ->> new.kind, %s) AS choice
            FROM new JOIN d ON d."key" = new."key"
            CROSS JOIN LATERAL jsonb_array_elements_text(d.hearers) AS h(user_id)
            LEFT JOIN {tables["preference"]} p ON p.user_id = h.user_id::bigint AND p.kind = new.kind
        ),
        copies AS (
            INSERT INTO {tables["notification"]} (event_id, user_id, mail)
            SELECT event_id, user_id, %s::jsonb ->> choice FROM heard WHERE choice <> %s
            RETURNING event_id, mail
        ),
        sent AS (
            INSERT INTO {tables["delivery"]} (endpoint_id, event_ids, delivery_id, status, attempts, error,
                                              created_at, next_attempt_at)
            SELECT endpoint_id, jsonb_agg(event_id ORDER BY event_id), gen_random_uuid(), %s, %s, %s, %s, %s
            FROM (
                SELECT e.id AS endpoint_id, new.id AS event_id,
                       (row_number() OVER (PARTITION BY e.id ORDER BY new.id) - 1) / %s AS part
                FROM new JOIN {tables["endpoint"]} e ON {_ENDPOINT_WANTS}
            ) wanted
            GROUP BY endpoint_id, part
            RETURNING id
        )
        SELECT 'event', id::text FROM new
        UNION ALL SELECT DISTINCT 'mail', event_id::text FROM copies WHERE mail = %s
        UNION ALL SELECT 'delivery', id::text FROM sent
    """
    now = timezone.now()
    params = [
        json.dumps(rows, cls=DjangoJSONEncoder),
        now,
        json.dumps(DEFAULTS),
        Choice.INBOX,
        json.dumps(MAIL_FOR),
        Choice.OFF,
        *_PENDING.values(),
        now,
        now,
        EVENTS_PER_DELIVERY,
        Mail.NOW,
    ]
    recorded = Recorded()
    lists = {"event": recorded.event_ids, "mail": recorded.mail_event_ids, "delivery": recorded.delivery_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for what, value in cursor.fetchall():
            lists[what].append(int(value))
    recorded.mail_event_ids.sort()
    return recorded


# `Endpoint.wants`, for the endpoint `e` and the event `new` of the statement above.
_ENDPOINT_WANTS = (
    "e.active AND (e.kinds = '[]'::jsonb OR e.kinds @> jsonb_build_array(new.kind)) "
    "AND (e.campaign_id IS NULL OR e.campaign_id = new.campaign_id)"
)


def _record_step_by_step(rows: list[dict[str, Any]]) -> Recorded:
    """The same on SQLite, which has no INSERT inside WITH: the events (ON CONFLICT DO NOTHING,
    RETURNING the new ones), then their copies and deliveries; in the caller's transaction."""
    q = connection.ops.quote_name
    fields = [Event._meta.get_field(name) for name in (*_EVENT_COLUMNS, "at")]
    now = timezone.now()
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {q(Event._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
        f"VALUES {', '.join([row_sql] * len(rows))} "
        f"ON CONFLICT ({q('key')}) DO NOTHING RETURNING {q('id')}, {q('key')}"
    )
    params = [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(fields, [*(row[name] for name in _EVENT_COLUMNS), now], strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        new = dict(cursor.fetchall())
    recorded = Recorded(event_ids=sorted(new))
    if not new:
        return recorded
    by_key = {row["key"]: row for row in rows}
    events = {pk: by_key[key] for pk, key in new.items()}
    everyone = {user_id for row in events.values() for user_id in row["hearers"]}
    chosen = dict(
        ((user_id, kind), choice)
        for user_id, kind, choice in Preference.objects.filter(
            user_id__in=everyone, kind__in={row["kind"] for row in events.values()}
        ).values_list("user_id", "kind", "choice")
    )
    copies = []
    for pk, row in sorted(events.items()):
        for user_id in row["hearers"]:
            choice = chosen.get((user_id, row["kind"])) or default_choice(row["kind"])
            if choice != Choice.OFF:
                copies.append(Notification(event_id=pk, user_id=user_id, mail=MAIL_FOR[choice]))
    Notification.objects.bulk_create(copies)
    deliveries = []
    for endpoint in Endpoint.objects.filter(active=True):
        wanted = [pk for pk, row in sorted(events.items()) if endpoint.wants(row["kind"], row["campaign_id"])]
        deliveries += [
            Delivery(
                endpoint=endpoint,
                event_ids=wanted[start : start + EVENTS_PER_DELIVERY],
                created_at=now,
                next_attempt_at=now,
                **_PENDING,
            )
            for start in range(0, len(wanted), EVENTS_PER_DELIVERY)
        ]
    Delivery.objects.bulk_create(deliveries)
    recorded.mail_event_ids = sorted({copy.event_id for copy in copies if copy.mail == Mail.NOW})
    recorded.delivery_ids = [delivery.pk for delivery in deliveries]
    return recorded


def _enqueue(mail_event_ids: list[int], delivery_ids: list[int]) -> None:
    from notifications.tasks import deliver_many, send_mails

    for start in range(0, len(mail_event_ids), 500):
        send_mails.delay(mail_event_ids[start : start + 500])
    for start in range(0, len(delivery_ids), 100):
        deliver_many.delay(delivery_ids[start : start + 100])
