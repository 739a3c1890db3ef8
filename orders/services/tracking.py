"""Polling order statuses in batches of 100, writing only what changed."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from jappanel.db import column_misfit
from jappanel.events import BatchedAnnouncer, Occurrence, announce
from orders.models import (
    FINAL_STATUSES,
    STARTED_STATUSES,
    STATUS_RANK,
    TRACKED_STATUSES,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
    status_from_provider,
)
from orders.services.common import ACCURACY, BATCH, POLL_STEPS, User
from orders.services.guarantees import refill_windows_open
from orders.services.lifecycle import order_event
from orders.services.links import orders_release_behind
from providers.client import (
    ItemError,
    ProviderError,
    ProviderOrderStatus,
    ProviderRateLimited,
)
from providers.crypto import ApiKeyDecryptionError
from providers.models import Provider
from providers.pace import fan_out
from providers.services import provider_record_error

logger = logging.getLogger(__name__)


@dataclass
class PollReport:
    """What one polling round (or one batch of it) did."""

    due: int = 0
    checked: int = 0
    changed: int = 0
    calls: int = 0
    errors: int = 0
    seconds: float = 0.0

    def add(self, other: PollReport) -> None:
        for name in ("checked", "changed", "calls", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StatusBatch:
    """Up to 100 claimed orders of one provider; `rows` is JSON, for the task message."""

    provider_id: int
    rows: list[list[Any]] = field(default_factory=list)


# What the poller knows of an order when it claims it (the task message carries it).
SNAPSHOT = (
    "id",
    "provider_order_id",
    "status",
    "provider_status",
    "charge",
    "start_count",
    "remains",
    "last_error",
    "quantity",
    "runs",
    "currency",
)


def _db_datetime(value: datetime) -> Any:
    return Order._meta.get_field("next_check_at").get_db_prep_value(value, connection)


def orders_claim_due(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    ids: Sequence[int] | None = None,
    provider_id: int | None = None,
) -> list[StatusBatch]:
    """Claim the orders due by `now` for a status check (only those of `ids`, of `provider_id`,
    if given), in batches of 100 per provider.

    One UPDATE … RETURNING sets each claimed order's next check (soon for young orders, later
    for old ones; from the moment of the claim, so a long round's late claims are not due again
    at once) before anything is asked, so a second poller running at the same time skips
    them: on PostgreSQL through `FOR UPDATE SKIP LOCKED`, on SQLite because a write holds the
    database lock.
    """
    due_by = now or timezone.now()
    now = max(due_by, timezone.now())
    limit = limit or settings.ORDERS_POLL_MAX_PER_ROUND
    quote = connection.ops.quote_name
    table = quote(Order._meta.db_table)
    age_from = f"COALESCE({quote('submitted_at')}, {quote('created_at')})"
    steps = " ".join(f"WHEN {age_from} >= %s THEN %s" for _ in POLL_STEPS)
    params: list[Any] = [_db_datetime(now)]
    for age, every in POLL_STEPS:
        params += [_db_datetime(now - age), _db_datetime(now + every)]
    params += [
        _db_datetime(now + timedelta(minutes=settings.ORDERS_POLL_MAX_INTERVAL_MINUTES)),
        _db_datetime(due_by),
    ]
    only = ""
    if ids is not None:
        only = f" AND {quote('id')} IN ({', '.join(['%s'] * len(ids))})" if ids else " AND 1 = 0"
        params += list(ids)
    if provider_id is not None:
        only += f" AND {quote('provider_id')} = %s"
        params.append(provider_id)
    params.append(limit)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    columns = ", ".join(quote(name) for name in ("provider_id", *SNAPSHOT))
    sql = (
        f"UPDATE {table} SET {quote('last_checked_at')} = %s, "
        f"{quote('next_check_at')} = CASE {steps} ELSE %s END "
        f"WHERE {quote('id')} IN (SELECT {quote('id')} FROM {table} "
        f"WHERE {quote('next_check_at')} <= %s{only} "
        f"ORDER BY {quote('next_check_at')} LIMIT %s{lock}) RETURNING {columns}"
    )
    # On SQLite the transaction starts with BEGIN IMMEDIATE: the write lock is taken before the
    # due rows are read, so a second poller reads them only after they were claimed.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed = cursor.fetchall()
    by_provider: dict[int, list[list[Any]]] = defaultdict(list)
    for provider_id, *snapshot in sorted(claimed, key=lambda row: row[1]):
        snapshot[4] = None if snapshot[4] is None else str(_decimal(snapshot[4]))
        by_provider[provider_id].append(snapshot)
    return [
        StatusBatch(provider_id=provider_id, rows=rows[start : start + BATCH])
        for provider_id, rows in sorted(by_provider.items())
        for start in range(0, len(rows), BATCH)
    ]


def _decimal(value: Any) -> Decimal:
    # SQLite hands numeric columns back as float; the stored value has five places.
    return Decimal(str(value)).quantize(ACCURACY)


@dataclass(frozen=True)
class _Change:
    id: int
    old_status: str
    status: str
    provider_status: str
    charge: Decimal | None
    start_count: int | None
    remains: int | None
    last_error: str
    needs_attention: bool
    final: bool
    kind: str
    message: str


def _change_for(row: Sequence[Any], answer: ProviderOrderStatus | ItemError) -> _Change | None:
    """What to write for one claimed order given the panel's answer; None when nothing changes.

    A value the panel reports that cannot be true is not written (the one known is kept) and the
    reason is: on the order as its last error, needing attention, and once as an event.
    """
    order_id, _, old_status, old_provider_status, old_charge, old_start, old_remains, old_error = row[:8]
    quantity, runs, currency = row[8:11]
    known = {
        "provider_status": old_provider_status,
        "charge": None if old_charge is None else Decimal(old_charge),
        "start_count": old_start,
        "remains": old_remains,
    }
    if isinstance(answer, ItemError):
        if answer.message == old_error:
            return None
        return _Change(
            id=order_id, old_status=old_status, status=old_status, final=False,
            last_error=answer.message, needs_attention=True, kind=EventKind.ERROR, message=answer.message,
            **known,
        )  # fmt: skip
    status = status_from_provider(answer.status)
    if STATUS_RANK[status] < STATUS_RANK[OrderStatus(old_status)]:
        return None  # an older answer than what we already know
    ordered = quantity * (runs or 1) if quantity else None
    news, refused = _news(answer, known, status, ordered=ordered, currency=currency)
    note = f"Not recorded: {'; '.join(refused)}." if refused else ""
    if status == old_status and news == known and note == old_error:
        return None
    if status != old_status:
        kind, message = EventKind.STATUS, _progress(answer) + (f". {note}" if note else "")
    else:
        kind, message = (EventKind.ERROR, note) if note and note != old_error else ("", "")
    return _Change(
        id=order_id, old_status=old_status, status=status, final=status in FINAL_STATUSES,
        last_error=note, needs_attention=bool(note), kind=kind, message=message,
        **news,
    )  # fmt: skip


def _news(
    answer: ProviderOrderStatus,
    known: dict[str, Any],
    status: OrderStatus,
    *,
    ordered: int | None,
    currency: str,
) -> tuple[dict[str, Any], list[str]]:
    """The values of `answer` to write, and why any was refused (the known value is kept then).

    A missing value never erases a known one, and no value can lower what an order costs its
    budgets: a charge is never negative, never in another currency than the order's, and goes
    down only with a refund (Partial, Canceled); what remains is never more than was ordered.
    """
    news = {**known, "provider_status": answer.status}
    refused = list(answer.problems)
    for name in ("charge", "start_count", "remains"):
        value = getattr(answer, name)
        if value is None:
            continue
        if value < 0:
            reason = "is negative"
        elif name == "charge":
            reason = _charge_refusal(value, known["charge"], status, answer.currency, currency)
        elif name == "remains" and ordered is not None and value > ordered:
            reason = f"is more than the {ordered:,} ordered"
        else:
            reason = ""
        misfit = column_misfit(Order, name, value)
        if reason or misfit:
            refused.append(f"the {name.replace('_', ' ')} {value} {reason or f'is {misfit}'}")
        else:
            news[name] = value
    return news, refused


def _charge_refusal(
    charge: Decimal, known: Decimal | None, status: OrderStatus, answer_currency: str, currency: str
) -> str:
    if answer_currency and answer_currency != currency:
        return f"is in {answer_currency}, the order in {currency}"
    if known is not None and charge < known and status not in (OrderStatus.PARTIAL, OrderStatus.CANCELED):
        return f"is lower than the {known} recorded, without a refund"
    return ""


def _progress(answer: ProviderOrderStatus) -> str:
    parts = [f"Provider status: {answer.status}"]
    if answer.start_count is not None:
        parts.append(f"start count {answer.start_count:,}")
    if answer.remains is not None:
        parts.append(f"remains {answer.remains:,}")
    if answer.charge is not None:
        parts.append(f"charge {answer.charge}")
    return ", ".join(parts)


# The columns of a change, with their SQL types on PostgreSQL.
_CHANGE_COLUMNS = {
    "id": "bigint",
    "old_status": "varchar",
    "status": "varchar",
    "provider_status": "varchar",
    "charge": "numeric",
    "start_count": "bigint",
    "remains": "bigint",
    "last_error": "text",
    "needs_attention": "boolean",
    "final": "boolean",
    "kind": "varchar",
    "message": "text",
}


# What an order's move tells those who hear of it, read back from the UPDATE that made it.
MOVED = ("id", "code", "user_id", "campaign_id", "estimated_charge", "charge", "currency")


def _moved(row: Sequence[Any]) -> dict[str, Any]:
    moved = dict(zip(MOVED, row, strict=True))
    for name in ("estimated_charge", "charge"):
        moved[name] = None if moved[name] is None else _decimal(moved[name])
    return moved


def _apply_changes(changes: Sequence[_Change], now: datetime) -> list[dict[str, Any]]:
    """Write the changed orders and their events; return the changed orders as they are now
    (`MOVED`): an order changed meanwhile is not among them.

    One `UPDATE … FROM` a table of the changes, guarded by each order's status as it was
    claimed, so an order changed meanwhile (by a person, or a newer answer) is left alone.
    Django's `bulk_update` costs ~50 ms per 100 rows; this costs a few. On PostgreSQL the
    changes travel as one JSON parameter (1,300 placeholders cost more to bind than the update
    itself) and the events are inserted by the same statement, a data-modifying CTE.
    """
    if not changes:
        return []
    postgres = connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    rows = [[getattr(change, name) for name in _CHANGE_COLUMNS] for change in changes]
    if postgres:
        record = ", ".join(f"{name} {kind}" for name, kind in _CHANGE_COLUMNS.items())
        values = f"v AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x({record}))"
        params: list[Any] = [
            json.dumps([dict(zip(_CHANGE_COLUMNS, row, strict=True)) for row in rows], default=str)
        ]
    else:
        row_sql = "(" + ", ".join(["%s"] * len(_CHANGE_COLUMNS)) + ")"
        values = f"v ({', '.join(_CHANGE_COLUMNS)}) AS (VALUES {', '.join([row_sql] * len(rows))})"
        params = [value for row in rows for value in row]
    order_table, event_table = quote(Order._meta.db_table), quote(OrderEvent._meta.db_table)
    when = _db_datetime(now)
    copied = ("status", "provider_status", "charge", "start_count", "remains", "last_error")
    started = ", ".join(["%s"] * len(STARTED_STATUSES))
    sets = ", ".join(f"{quote(name)} = v.{name}" for name in (*copied, "needs_attention"))
    update = (
        f"UPDATE {order_table} AS o SET {sets}, "
        f"{quote('status_changed_at')} = CASE WHEN o.{quote('status')} <> v.status THEN %s "
        f"ELSE o.{quote('status_changed_at')} END, "
        f"{quote('finished_at')} = CASE WHEN v.final THEN %s ELSE o.{quote('finished_at')} END, "
        f"{quote('started_at')} = CASE WHEN o.{quote('started_at')} IS NULL AND v.status IN ({started}) "
        f"THEN %s ELSE o.{quote('started_at')} END, "
        f"{quote('next_check_at')} = CASE WHEN v.final THEN NULL ELSE o.{quote('next_check_at')} END "
        f"FROM v WHERE o.{quote('id')} = v.id AND o.{quote('status')} = v.old_status"
    )
    params += [when, when, *sorted(STARTED_STATUSES), when]
    if postgres:
        # One statement: atomic by itself, no transaction round trips.
        with connection.cursor() as cursor:
            moved = ", ".join(f"o.{quote(name)}" for name in MOVED[1:])
            cursor.execute(
                f"WITH {values}, "
                f"changed AS ({update} RETURNING o.id, v.old_status, v.status, v.kind, v.message, {moved}), "
                f"events AS (INSERT INTO {event_table} (order_id, at, kind, from_status, to_status, message) "
                f"SELECT id, %s, kind, old_status, status, message FROM changed WHERE kind <> '') "
                f"SELECT id, {', '.join(quote(name) for name in MOVED[1:])} FROM changed",
                [*params, when],
            )
            return [_moved(row) for row in cursor.fetchall()]
    with transaction.atomic(), connection.cursor() as cursor:
        # SQLite's RETURNING names the target table's columns bare (no alias, no FROM tables).
        cursor.execute(f"WITH {values} {update} RETURNING {', '.join(quote(name) for name in MOVED)}", params)
        moved_rows = [_moved(row) for row in cursor.fetchall()]
        changed = {row["id"] for row in moved_rows}
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(
                    order_id=c.id,
                    at=now,
                    kind=c.kind,
                    from_status=c.old_status,
                    to_status=c.status,
                    message=c.message,
                )
                for c in changes
                if c.id in changed and c.kind
            ]
        )
        return moved_rows


def order_batch_check(
    *,
    provider: Provider,
    rows: Sequence[Sequence[Any]],
    retry_until: float | None = None,
    tell: Callable[[Iterable[Occurrence]], None] = announce,
) -> PollReport:
    """Ask the panel for up to 100 claimed orders in one `status` call and record what changed.

    A per-order error (`Incorrect order ID`) marks that order for attention; a failed call is
    recorded on the provider, and the orders wait for their next check. A panel saying we call
    too often is no failure: the same call is made again when the provider's pace allows, until
    `retry_until` (time.monotonic()); past it the orders are made due again for the next round.
    The moves are told through `tell` (a round gathers them: `BatchedAnnouncer`).
    """
    report = PollReport()
    ids = [row[1] for row in rows]
    retry_until = time.monotonic() + round_seconds() if retry_until is None else retry_until
    answers: dict[int, ProviderOrderStatus | ItemError] = {}
    while True:
        try:
            with provider.client() as client:
                report.calls += 1
                answers = client.statuses(ids)
        except ProviderRateLimited as exc:
            if time.monotonic() < retry_until:
                continue  # the pace holds the next call back
            logger.info(
                "provider %s: status of %d orders left for the next round: %s", provider.name, len(rows), exc
            )
            _make_due([row[0] for row in rows])
        except (ProviderError, ApiKeyDecryptionError) as exc:
            answers = getattr(exc, "partial_results", {})
            report.errors += len(rows) - len(answers)
            if isinstance(exc, ProviderError):
                provider_record_error(provider=provider, error=exc)
            logger.warning("provider %s: status of %d orders not read: %s", provider.name, len(rows), exc)
        break
    changes = []
    for row in rows:
        answer = answers.get(row[1])
        if answer is None:
            continue
        report.checked += 1
        report.errors += isinstance(answer, ItemError)
        change = _change_for(row, answer)
        if change is not None:
            changes.append(change)
    moved = {row["id"]: row for row in _apply_changes(changes, timezone.now())}
    report.changed = len(moved)
    # The order as the move left it travels with the news: who hears of it needs no query.
    tell(
        Occurrence(
            "order.moved",
            f"order:{c.id}:{c.status}",
            {"order_id": c.id, "to": c.status, "order": {**moved[c.id], "status": c.status}},
        )
        for c in changes
        if c.status != c.old_status and c.id in moved
    )
    # Orders waiting behind one that just finished go now (a change not applied frees nothing).
    orders_release_behind(order_ids=[change.id for change in changes if change.final])
    refill_windows_open(
        order_ids=[c.id for c in changes if c.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)]
    )
    return report


def _make_due(order_ids: Sequence[int]) -> None:
    Order.objects.filter(pk__in=order_ids, next_check_at__isnull=False).update(next_check_at=timezone.now())


def round_seconds() -> float:
    """How long a round may go on claiming: it ends within its task's soft time limit, its last
    calls included."""
    return max(settings.CELERY_TASK_SOFT_TIME_LIMIT - settings.PROVIDER_CALL_DEADLINE - 10, 30)


def orders_poll_round(*, now: datetime | None = None, ids: Sequence[int] | None = None) -> PollReport:
    """One polling round in this process: check every order due by `now` (of `ids` if given).

    Each provider's orders are checked by PROVIDER_MAX_CONCURRENCY threads at once, each
    claiming 100 orders, asking, writing, and claiming again, so that a panel answering in
    0.5 s still gets its calls back to back; the provider's pace keeps the calls in flight
    within the bound across processes. Claims are small and made as the calls go: an order is
    claimed just before it is asked, and a round cut short leaves the rest due, not claimed.
    """
    started = time.perf_counter()
    due_by = now or timezone.now()
    deadline = time.monotonic() + round_seconds()
    due = Order.objects.filter(next_check_at__lte=due_by)
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    providers = Provider.objects.in_bulk(set(due.values_list("provider_id", flat=True).distinct()))
    report = PollReport()
    left = [len(ids) if ids is not None else settings.ORDERS_POLL_MAX_PER_ROUND]
    lock = threading.Lock()

    def take(wanted: int) -> int:
        with lock:
            taken = min(wanted, left[0])
            left[0] -= taken
            return taken

    def poll(provider: Provider) -> None:
        while time.monotonic() < deadline and (wanted := take(BATCH)):
            batches = orders_claim_due(now=due_by, limit=wanted, ids=ids, provider_id=provider.pk)
            if not batches:
                return
            result = order_batch_check(
                provider=provider, rows=batches[0].rows, retry_until=deadline, tell=tell
            )
            with lock:
                report.due += len(batches[0].rows)
                report.add(result)
            if not result.checked:
                return  # the panel failed: the rest of its orders wait for their next check

    workers = [provider for provider in providers.values() for _ in range(settings.PROVIDER_MAX_CONCURRENCY)]
    tell = BatchedAnnouncer()
    try:
        fan_out(poll, workers, threads=len(workers))
    finally:
        tell.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def orders_check_now(*, orders: Iterable[Order], user: User | None = None, ip: str | None = None) -> int:
    """Make the given orders due now and check them at once; final ones are left alone.

    They are checked by a task of their own on the interactive queue: a person who asked
    does not wait behind a polling round.
    """
    tracked = [order for order in orders if order.is_tracked]
    if not tracked:
        return 0
    now = timezone.now()
    with transaction.atomic():
        Order.objects.filter(pk__in=[o.pk for o in tracked], status__in=list(TRACKED_STATUSES)).update(
            next_check_at=now
        )
        OrderEvent.objects.bulk_create(
            [order_event(o, EventKind.CHECK, "Status check requested", user=user) for o in tracked]
        )
        for order in tracked:
            audit_record(action=AuditAction.ORDER_CHECK, actor=user, ip=ip, target=order)
        ids = [order.pk for order in tracked]
        transaction.on_commit(lambda: _enqueue_check(ids), robust=True)
    return len(tracked)


def _enqueue_check(order_ids: list[int]) -> None:
    from orders.tasks import check_orders_now

    check_orders_now.delay(order_ids)
