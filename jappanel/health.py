"""Readiness: the database, the Celery broker, and fresh heartbeats of the worker and beat."""

from __future__ import annotations

from django.db import connection

from jappanel.celery import app as celery_app
from jappanel.heartbeat import heartbeat_states


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"error: {type(exc).__name__}" + (f": {lines[0]}" if lines else "")


def database_check() -> str:
    """Return "ok" or a short reason the database does not answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready": the reason is shown, not raised
        return _reason(exc)
    return "ok"


def broker_check(timeout: float = 2.0) -> str:
    """Return "ok" or a short reason the broker does not answer."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return _reason(exc)
    return "ok"


def readiness() -> dict[str, str]:
    """Each part by name, "ok" or a short reason; the heartbeats need the database."""
    checks = {"database": database_check(), "broker": broker_check()}
    if checks["database"] == "ok":
        checks.update({name: state.summary for name, state in heartbeat_states().items()})
    else:
        checks.update(
            worker="unknown: the database does not answer", beat="unknown: the database does not answer"
        )
    return checks
