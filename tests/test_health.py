from __future__ import annotations

import pytest

from jappanel.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_answers_anonymously_with_the_state_of_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.fixture
def unreachable_broker(monkeypatch):
    # A real Redis URL on a port where nothing listens: the broker is genuinely unreachable.
    # Celery lets the CELERY_BROKER_URL environment variable win over its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    saved = {key: celery_app.conf[key] for key in ("broker_url", "broker_transport_options")}
    celery_app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_transport_options={})
    yield
    celery_app.conf.update(saved)


def test_healthz_is_503_when_the_broker_does_not_answer(client, unreachable_broker):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["broker"].startswith("error:")
