"""Readiness: the database, the Celery broker, fresh heartbeats of the worker and beat, and the
static files every page links to."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
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


# collectstatic's default: files it never copies, so the manifest never names them.
STATIC_IGNORED = ["CVS", ".*", "*~"]


def static_check() -> str:
    """Return "ok" or why pages cannot be rendered for want of static files.

    With DEBUG off, every page names its CSS and scripts by the hashed names in the manifest that
    `collectstatic` writes, and a file missing from it is an error on every page. The manifest
    is the one this process loaded when it started (as the pages use it): one collected later
    counts after a restart.
    """
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return "ok"  # development: files are served as they are, no manifest
    known = staticfiles_storage.hashed_files
    if not known:
        return "error: no static files manifest: run collectstatic, then restart"
    missing = sorted(
        path
        for finder in finders.get_finders()
        for path, _ in finder.list(STATIC_IGNORED)
        if path not in known
    )
    if missing:
        return (
            f"error: the static files manifest lacks {len(missing)} file(s), e.g. {missing[0]}: "
            "run collectstatic, then restart"
        )
    return "ok"


def readiness() -> dict[str, str]:
    """Each part by name, "ok" or a short reason; the heartbeats need the database."""
    checks = {"database": database_check(), "broker": broker_check(), "static": static_check()}
    if checks["database"] == "ok":
        checks.update({name: state.summary for name, state in heartbeat_states().items()})
    else:
        checks.update(
            worker="unknown: the database does not answer", beat="unknown: the database does not answer"
        )
    return checks
