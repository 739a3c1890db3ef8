"""Heartbeats of the worker and of beat, so that the web process knows both are running.

The worker records one when it starts and then every HEARTBEAT_INTERVAL seconds from its own
timer (a bootstep), and again whenever it runs the `heartbeat` task. Beat records one each time
it sends a task; the `heartbeat` task is scheduled every HEARTBEAT_INTERVAL seconds so that it
always has one to send.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

_in_beat = False


def heartbeat_record(name: str) -> None:
    """Record that `name` ("worker" or "beat") is alive now; a database error is logged, not raised."""
    from jappanel.models import Heartbeat

    try:
        Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})
    except Exception:  # a heartbeat must never take down the process it reports on
        logger.warning("%s heartbeat not recorded", name, exc_info=True)


@dataclass(frozen=True)
class HeartbeatState:
    name: str
    seen_at: datetime | None
    max_age: timedelta

    @property
    def alive(self) -> bool:
        return self.seen_at is not None and timezone.now() - self.seen_at <= self.max_age

    @property
    def summary(self) -> str:
        """The string "ok", or why not, in the style of the other readiness checks."""
        if self.seen_at is None:
            return "error: no heartbeat recorded yet"
        if self.alive:
            return "ok"
        age = int((timezone.now() - self.seen_at).total_seconds())
        return f"error: last heartbeat {age} s ago (more than {int(self.max_age.total_seconds())} s)"


def heartbeat_states() -> dict[str, HeartbeatState]:
    """The state of the worker and of beat, read in one query."""
    from jappanel.models import Heartbeat

    seen = dict(Heartbeat.objects.values_list("name", "seen_at"))
    max_age = timedelta(seconds=settings.HEARTBEAT_MAX_AGE)
    return {
        name: HeartbeatState(name, seen.get(name), max_age) for name in (Heartbeat.WORKER, Heartbeat.BEAT)
    }


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker bootstep: record the worker's heartbeat from its own timer, busy or not."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer_entry: Any = None

    def start(self, worker: Any) -> None:
        self.beat()
        self.timer_entry = worker.timer.call_repeatedly(settings.HEARTBEAT_INTERVAL, self.beat)

    @staticmethod
    def beat() -> None:
        heartbeat_record("worker")
        # This runs outside any task, in the worker's own thread: a connection kept open until
        # the next beat would pin a database session for nothing.
        connection.close()

    def stop(self, worker: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()


def _beat_started(**kwargs: Any) -> None:
    global _in_beat
    _in_beat = True
    heartbeat_record("beat")


def _task_published(**kwargs: Any) -> None:
    # Every process publishes tasks; only beat's publishing says that the scheduler runs.
    if _in_beat:
        heartbeat_record("beat")


def connect_heartbeats(app: Any) -> None:
    from celery import signals

    app.steps["worker"].add(WorkerHeartbeat)
    signals.beat_init.connect(_beat_started, weak=False, dispatch_uid="jappanel_beat_started")
    signals.before_task_publish.connect(_task_published, weak=False, dispatch_uid="jappanel_beat_published")
