"""/healthz says the process answers; /readyz says whether the whole product can do its work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from jappanel.celery import app as celery_app
from jappanel.heartbeat import heartbeat_record
from jappanel.models import Heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def both_running():
    heartbeat_record("worker")
    heartbeat_record("beat")


def test_healthz_answers_anonymously_without_touching_database_or_broker(
    client, django_assert_num_queries, unreachable_broker
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_broker_worker_and_beat_all_answer(client, both_running):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "static": "ok",
        "worker": "ok",
        "beat": "ok",
    }
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.fixture
def unreachable_broker(monkeypatch):
    # A real Redis URL on a port where nothing listens: the broker is genuinely unreachable.
    # Celery lets the CELERY_BROKER_URL environment variable win over its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    saved = {key: celery_app.conf[key] for key in ("broker_url", "broker_transport_options")}
    celery_app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_transport_options={})
    yield
    celery_app.conf.update(saved)


def test_readyz_is_503_when_the_broker_does_not_answer(client, both_running, unreachable_broker):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["broker"].startswith("error:")


def test_readyz_is_503_and_names_the_worker_when_it_never_reported(client):
    heartbeat_record("beat")
    body = client.get("/readyz").json()
    assert body["status"] == "error"
    assert body["worker"] == "error: no heartbeat recorded yet"
    assert body["beat"] == "ok"


def test_readyz_is_503_when_beat_has_been_silent_longer_than_the_threshold(client, both_running, settings):
    settings.HEARTBEAT_MAX_AGE = 120
    Heartbeat.objects.filter(name="beat").update(seen_at=timezone.now() - timedelta(seconds=300))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["beat"].startswith("error: last heartbeat 300 s ago")
    assert response.json()["worker"] == "ok"


def test_readyz_reports_a_database_that_does_not_answer_without_crashing(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("error: OperationalError")
    assert body["worker"].startswith("unknown")


@pytest.fixture
def hashed_static_files(settings, tmp_path):
    """Static files as production serves them (DEBUG off): hashed names from the manifest in an
    empty STATIC_ROOT, until the test runs collectstatic."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }


def test_readyz_is_503_and_says_so_when_static_files_were_never_collected(
    client, both_running, hashed_static_files
):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["static"] == "error: no static files manifest: run collectstatic, then restart"
    assert response.json()["database"] == "ok"


def test_readyz_is_ok_once_static_files_are_collected_and_503_when_one_is_missing_from_the_manifest(
    client, both_running, hashed_static_files
):
    call_command("collectstatic", "--noinput", verbosity=0)
    assert client.get("/readyz").json()["static"] == "ok"
    assert client.get("/readyz").status_code == 200
    # A manifest from an older build, which does not know a file the pages now link to.
    del staticfiles_storage.hashed_files["js/app.js"]
    body = client.get("/readyz").json()
    assert body["static"].startswith("error: the static files manifest lacks 1 file(s), e.g. js/app.js")
