"""Log lines with context: request id, task id, order code and provider order id.

The context lives in a ContextVar, so it follows a request or a task through every function
it calls without being passed along: `RequestIdMiddleware` sets the request id, Celery's
signals set the task id, and code working on an order wraps that work in
`log_context(order_code=..., provider_order_id=...)`. `ContextFilter` copies the context onto
every record, and the two formatters write it as readable text or as one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

CONTEXT_FIELDS = ("request_id", "task_id", "order_code", "provider_order_id")
_context: ContextVar[dict[str, str]] = ContextVar("jappanel_log_context", default={})  # noqa: B039
# A request id from the proxy is reused only when it cannot smuggle anything into a log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and scrapes every few seconds would drown the request log; they are logged at DEBUG.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

request_logger = logging.getLogger("jappanel.request")


def current_context() -> dict[str, str]:
    return dict(_context.get())


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (of CONTEXT_FIELDS) to every log line written inside the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    token = _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copy the current context onto the record (as attributes named after CONTEXT_FIELDS)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        if "request_id" not in context and hasattr(getattr(record, "request", None), "request_id"):
            # django.request logs a failed response after the middleware returned; it passes
            # the request along, which carries its id.
            context = {**context, "request_id": record.request.request_id}
        for field in CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field, ""))
        return True


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    return {field: value for field in CONTEXT_FIELDS if (value := getattr(record, field, ""))}


class PlainFormatter(logging.Formatter):
    """`2026-01-02 03:04:05,678 INFO name [request_id=… task_id=…]: message`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = _context_of(record)
        record.context = (" [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]") if context else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context, and any exception.

    Only these named fields are written: extra attributes on a record (Django puts the whole
    request on some) never reach the log.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Give every request an id (the proxy's X-Request-ID if sane), log it, and answer with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        started = time.monotonic()
        with log_context(request_id=request_id):
            response = self.get_response(request)
            # The path only: a query string is the visitor's, and has no place in our logs.
            request_logger.log(
                logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO,
                "%s %s %s %.0f ms",
                request.method,
                request.path,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        response["X-Request-ID"] = request_id
        return response


@contextmanager
def logs_to_stderr() -> Iterator[None]:
    """Write the log lines meant for stdout to stderr meanwhile: a command whose stdout is its
    output (JSON lines piped into `jq`) must not mix log lines into it."""
    moved = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout
    ]
    for handler in moved:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        for handler in moved:
            handler.setStream(sys.stdout)


def _configure_from_django(**kwargs: Any) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


_task_tokens: dict[str, Any] = {}


def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_tokens[task_id] = _context.set({**_context.get(), "task_id": task_id})


def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        _context.reset(token)


def connect_celery_signals() -> None:
    """Let Django's LOGGING configure the worker and beat, and put the task id on task lines."""
    from celery import signals

    # Any receiver of setup_logging stops Celery from installing its own root handlers.
    signals.setup_logging.connect(_configure_from_django, weak=False, dispatch_uid="jappanel_logging")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="jappanel_log_task_start")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="jappanel_log_task_end")
