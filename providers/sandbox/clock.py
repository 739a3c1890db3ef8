"""The sandbox's sense of time: a replaceable clock and the simulated-time scale.

Everything in the sandbox asks `clock.now()`; tests install a `FrozenClock` with `frozen()` and
move it with `advance()` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return timezone.now()


class FrozenClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or timezone.now()

    def now(self) -> datetime:
        return self.at

    def advance(self, *, simulated: bool = False, **kwargs: float) -> datetime:
        """Move forward by a timedelta's keyword arguments, in simulated time if asked."""
        step = timedelta(**kwargs)
        self.at += to_real(step) if simulated else step
        return self.at


_current: Clock = SystemClock()


def now() -> datetime:
    return _current.now()


def set_clock(new: Clock) -> Clock:
    """Install `new` as the sandbox clock and return the one it replaces."""
    global _current
    previous, _current = _current, new
    return previous


@contextmanager
def frozen(at: datetime | None = None) -> Iterator[FrozenClock]:
    """Run a block with a frozen sandbox clock."""
    clock = FrozenClock(at)
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def time_scale() -> float:
    """Simulated seconds per real second (settings.SANDBOX_TIME_SCALE)."""
    scale = float(getattr(settings, "SANDBOX_TIME_SCALE", 60.0))
    return scale if scale > 0 else 1.0


def to_real(simulated: timedelta) -> timedelta:
    return simulated / time_scale()
