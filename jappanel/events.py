"""What happened that a person may need to hear about, told upward without importing who listens.

An app that sees something happen (an order goes unconfirmed, a balance is read, a sync fails)
calls `announce` with one `Occurrence` per thing; the notifications app listens (`happened`) and
decides who hears it and how. The frame imports no app, so every app may announce.
"""

from __future__ import annotations

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
