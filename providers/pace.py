"""How fast jappanel calls each panel: a bounded number of calls in flight, spaced when asked,
slower after the panel says we were too fast.

Every call of a provider's client first takes one of the provider's `CallSlot` rows, with one
conditional UPDATE, and gives it back after. So PROVIDER_MAX_CONCURRENCY holds across every
worker process and thread, on PostgreSQL and SQLite alike, without another server; a process
killed mid-call loses its slot only until the slot's lease (the call deadline) runs out.
Taking a slot also sets when that slot may be taken again, when PROVIDER_MAX_REQUESTS_PER_MINUTE
is set, so that no minute sees more calls than that (`_slots`). A 429 (or a
rate-limit sentence) puts every slot of the provider back: slot k reopens after (k + 1) × the
back-off (the panel's Retry-After, else 10 s), so calls resume one at a time and widen again.
"""

from __future__ import annotations

import contextvars
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, connections
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone

from providers.models import CallSlot

DEFAULT_BACKOFF = 10.0  # seconds, when the panel does not say how long (Retry-After)
MAX_BACKOFF = 300.0
BUSY_WAIT = 0.05  # every slot is in a call: look again this soon (seconds, jittered)
LEASE_MARGIN = 30.0
T = TypeVar("T")


class PaceClock:
    """Wall time. Tests replace `pace.clock` with one that moves when they say, never waiting."""

    def now(self) -> datetime:
        return timezone.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


clock: Any = PaceClock()


class Ticket:
    """What a call reports when it gives its slot back."""

    def __init__(self) -> None:
        self.backoff: float | None = None

    def slow_down(self, seconds: float | None = None) -> None:
        """The panel refused the call for its rate limit; `seconds` is its Retry-After if any."""
        self.backoff = min(max(seconds or DEFAULT_BACKOFF, 1.0), MAX_BACKOFF)


class Pace:
    """The pace of one provider's calls (see the module)."""

    def __init__(self, provider_id: int) -> None:
        self.provider_id = provider_id

    @contextmanager
    def slot(self) -> Iterator[Ticket]:
        """Wait for a free slot, hold it for the call, give it back (slowing down if told to)."""
        slot_id = self._take()
        ticket = Ticket()
        try:
            yield ticket
        finally:
            if ticket.backoff is not None:
                self._back_off(ticket.backoff)
            CallSlot.objects.filter(pk=slot_id).update(held_until=None)

    def _take(self) -> int:
        while True:
            now = clock.now()
            slot_id = self._try_take(now)
            if slot_id is not None:
                return slot_id
            clock_wait = self._wait_for(now)
            if clock_wait is None:
                # Every slot is in a call: one ends within a round trip.
                time.sleep(BUSY_WAIT * random.uniform(0.5, 1.5))
            else:
                clock.sleep(clock_wait)

    def _try_take(self, now: datetime) -> int | None:
        slots, spacing = _slots()
        lease = now + timedelta(seconds=settings.PROVIDER_CALL_DEADLINE + LEASE_MARGIN)
        quote = connection.ops.quote_name
        table = quote(CallSlot._meta.db_table)
        lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
        sql = (
            f"UPDATE {table} SET {quote('held_until')} = %s, {quote('free_at')} = %s "
            f"WHERE {quote('id')} = (SELECT {quote('id')} FROM {table} "
            f"WHERE {quote('provider_id')} = %s AND {quote('number')} < %s "
            f"AND ({quote('held_until')} IS NULL OR {quote('held_until')} < %s) AND {quote('free_at')} <= %s "
            f"ORDER BY {quote('number')} LIMIT 1{lock}) RETURNING {quote('id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [_db(lease), _db(now + spacing), self.provider_id, slots, _db(now), _db(now)])
            row = cursor.fetchone()
        return row[0] if row else None

    def _wait_for(self, now: datetime) -> float | None:
        """Seconds until a slot not in a call may be taken; None when every slot is in a call."""
        slots, _ = _slots()
        rows = list(
            CallSlot.objects.filter(provider_id=self.provider_id, number__lt=slots).values_list(
                "held_until", "free_at"
            )
        )
        if len(rows) < slots:
            CallSlot.objects.bulk_create(
                [CallSlot(provider_id=self.provider_id, number=n, free_at=now) for n in range(slots)],
                ignore_conflicts=True,
            )
            return 0.0
        waits = [
            (free_at - now).total_seconds()
            for held_until, free_at in rows
            if held_until is None or held_until < now
        ]
        if not waits:
            return None
        return min(max(min(waits), 0.0), MAX_BACKOFF)

    def _back_off(self, seconds: float) -> None:
        now = clock.now()
        slots, _ = _slots()
        CallSlot.objects.filter(provider_id=self.provider_id).update(
            free_at=Case(
                *[
                    When(number=n, free_at__lt=now + timedelta(seconds=seconds * (n + 1)),
                         then=Value(now + timedelta(seconds=seconds * (n + 1))))
                    for n in range(slots)
                ],
                default=F("free_at"),
                output_field=DateTimeField(),
            )
        )  # fmt: skip


def _slots() -> tuple[int, timedelta]:
    """How many slots are in use, and how long after it is taken a slot may be taken again.

    With a limit of R calls a minute, k = min(slots, R) slots each taken at most R // k times
    a minute make at most R calls in any minute, the first ones included.
    """
    slots = settings.PROVIDER_MAX_CONCURRENCY
    per_minute = settings.PROVIDER_MAX_REQUESTS_PER_MINUTE
    if not per_minute:
        return slots, timedelta(0)
    slots = min(slots, per_minute)
    return slots, timedelta(seconds=60 / (per_minute // slots))


def _db(value: datetime) -> Any:
    return CallSlot._meta.get_field("free_at").get_db_prep_value(value, connection)


def fan_out(work: Callable[[T], None], items: Sequence[T], *, threads: int) -> None:
    """Run `work` on every item from `threads` threads, each with its own database connection
    (closed when it is done) and a copy of the caller's log context; the first error is raised
    once all have finished.

    Inside a transaction everything runs in this thread instead: other connections would not
    see what the transaction wrote (and a caller in a transaction is a test or a command).
    """
    if connection.in_atomic_block or threads <= 1 or len(items) <= 1:
        for item in items:
            work(item)
        return
    pending: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            while True:
                try:
                    item = pending.get_nowait()
                except queue.Empty:
                    return
                work(item)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    started = [
        threading.Thread(target=contextvars.copy_context().run, args=(run,), name="fan-out", daemon=True)
        for _ in range(min(threads, len(items)))
    ]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    if errors:
        raise errors[0]
