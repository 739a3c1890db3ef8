"""jappanel/events.py: announcing, and gathering many small announcements into few."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jappanel.events import BatchedAnnouncer, Occurrence, happened


@pytest.fixture
def heard() -> Iterator[list[list[str]]]:
    """The keys of each announcement the listeners receive."""
    calls: list[list[str]] = []

    def listener(sender: object = None, *, occurrences: list[Occurrence], **kwargs: object) -> None:
        calls.append([o.key for o in occurrences])

    happened.connect(listener, dispatch_uid="test_events", weak=False)
    yield calls
    happened.disconnect(dispatch_uid="test_events")


def news(*keys: str) -> list[Occurrence]:
    return [Occurrence("test.news", key) for key in keys]


def test_small_announcements_are_told_together_once_enough_gathered(heard):
    tell = BatchedAnnouncer(size=3, seconds=3600)

    tell(news("a", "b"))
    assert heard == []
    tell(news("c", "d"))
    tell(news("e"))
    assert heard == [["a", "b", "c", "d"]]

    tell.close()
    assert heard == [["a", "b", "c", "d"], ["e"]]
    tell.close()
    tell([])
    assert len(heard) == 2


def test_news_that_has_waited_long_enough_is_told_with_the_next(heard):
    # No wait at all: every announcement finds its news old enough.
    tell = BatchedAnnouncer(size=1000, seconds=0)

    tell(news("a"))
    tell(news("b"))

    assert heard == [["a"], ["b"]]
