"""Prometheus metrics at /metrics, for a scraper holding METRICS_TOKEN.

Counted as they happen (in whichever process does the work): calls to a panel by action and
outcome with their latency (`provider_call_observe`, fed by the providers app), and the duration
of every Celery task run, the status-polling round among them. Read from the database at scrape
time: the age of the worker's and beat's heartbeats, and whatever the apps register with
`gauges_register` (orders by status, each provider's balance).
"""

from __future__ import annotations

import hmac
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Every container numbers its processes from 1: the host name keeps their files apart in
    # the shared directory (and underscores would break prometheus_client's file-name parsing).
    values.ValueClass = values.MultiProcessValue(
        process_identifier=lambda: f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"
    )

PROVIDER_CALLS = Counter(
    "jappanel_provider_calls", "Calls to a panel, by API action and outcome", ["action", "outcome"]
)
PROVIDER_CALL_SECONDS = Histogram(
    "jappanel_provider_call_seconds",
    "Wall time of calls to a panel, by API action",
    ["action"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TASK_SECONDS = Histogram(
    "jappanel_task_seconds",
    "Wall time of Celery task runs (one run of the polling task is one polling round), by task and state",
    ["task", "state"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300),
)


def provider_call_observe(*, action: str, outcome: str, seconds: float, **kwargs: Any) -> None:
    """Count one call to a panel (a receiver of the client's `call_finished` signal)."""
    PROVIDER_CALLS.labels(action, outcome).inc()
    PROVIDER_CALL_SECONDS.labels(action).observe(seconds)


_task_started: dict[str, float] = {}


def _task_prerun(*, task_id: str, **kwargs: Any) -> None:
    _task_started[task_id] = time.monotonic()


def _task_postrun(*, task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None:
        TASK_SECONDS.labels(task.name, state or "UNKNOWN").observe(time.monotonic() - started)


def connect_metrics() -> None:
    from celery import signals

    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="jappanel_metrics_task_start")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="jappanel_metrics_task_end")


GaugeSource = Callable[[], Iterable[Metric]]
_gauge_sources: list[GaugeSource] = []


def gauges_register(source: GaugeSource) -> None:
    """Add gauges read from the database at each scrape (an app registers its own in `ready`)."""
    if source not in _gauge_sources:
        _gauge_sources.append(source)


class DatabaseCollector:
    """Gauges read from the database at each scrape, so every process reports the same truth."""

    def collect(self) -> Iterator[Metric]:
        from jappanel.heartbeat import heartbeat_states

        for source in _gauge_sources:
            yield from source()
        age = GaugeMetricFamily(
            "jappanel_heartbeat_age_seconds",
            "Seconds since the worker's or beat's last heartbeat (absent: never seen)",
            labels=["process"],
        )
        for name, state in heartbeat_states().items():
            if state.seen_at is not None:
                age.add_metric([name], (timezone.now() - state.seen_at).total_seconds())
        yield age


_database = CollectorRegistry()
_database.register(DatabaseCollector())


def metrics_text() -> bytes:
    """The exposition text: this process's (or every process's) counters, then the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_database)


@require_GET
@never_cache
@login_not_required
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), settings.METRICS_TOKEN.encode()):
        return HttpResponse(
            "a valid bearer token is required\n", status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
