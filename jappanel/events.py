"""What happened that a person may need to hear about, told upward without importing who listens.

An app that sees something happen (an order goes unconfirmed, a balance is read, a sync fails)
calls `announce` with one `Occurrence` per thing; the notifications app listens (`happened`) and
decides who hears it and how. The frame imports no app, so every app may announce.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal

# Sent with `occurrences`, a list of Occurrence; receivers run in the sender's transaction.
happened = Signal()


@dataclass(frozen=True)
class Occurrence:
    """One thing that happened: its `kind` ("order.moved"), a de-duplication `key` (the same key
    twice is one event: a retried task never tells anyone twice), and `data` of ids, codes and
    amounts (never a key, a password or a session)."""

    kind: str
    key: str
    data: Mapping[str, Any] = field(default_factory=dict)


def announce(occurrences: Iterable[Occurrence]) -> None:
    """Tell the listeners about `occurrences`; nothing is sent for none."""
    listed = list(occurrences)
    if listed:
        happened.send(sender=Occurrence, occurrences=listed)


class BatchedAnnouncer:
    """`announce`, for a caller that announces many small batches (a polling round's batches of
    100 orders): what it is given is told once `size` occurrences have gathered, or with the
    next call once the oldest has waited `seconds`, and the rest on `close()`. Listeners then
    pay their fixed cost per statement a tenth as often; what a crash loses is at most one
    gathering of news, never what the news tells of. Safe to call from several threads."""

    def __init__(self, *, size: int = 1000, seconds: float = 5.0) -> None:
        self.size, self.seconds = size, seconds
        self._gathered: list[Occurrence] = []
        self._since = 0.0
        self._lock = threading.Lock()

    def __call__(self, occurrences: Iterable[Occurrence]) -> None:
        listed = list(occurrences)
        if not listed:
            return
        with self._lock:
            if not self._gathered:
                self._since = time.monotonic()
            self._gathered.extend(listed)
            due = len(self._gathered) >= self.size or time.monotonic() - self._since >= self.seconds
            taken = self._take() if due else []
        announce(taken)

    def close(self) -> None:
        with self._lock:
            taken = self._take()
        announce(taken)

    def _take(self) -> list[Occurrence]:
        taken, self._gathered = self._gathered, []
        return taken
