"""Prometheus metrics behind a token, and Sentry events with nothing secret in them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
import responses
import sentry_sdk
from django.apps import apps
from sentry_sdk.transport import Transport

from jappanel.heartbeat import heartbeat_record
from jappanel.sentry import scrub_event, sentry_init
from jappanel.tasks import heartbeat as heartbeat_task
from providers.services import provider_refresh_balance
from tests.production.conftest import API_KEY, API_URL, assert_nowhere

TOKEN = "metrics-token-for-the-test"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_metrics_do_not_exist_without_a_token_and_refuse_a_wrong_one(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_provider_calls_are_counted_by_action_and_outcome_with_their_latency(client, metrics_on, provider):
    def count(text: str, outcome: str) -> float:
        prefix = f'jappanel_provider_calls_total{{action="balance",outcome="{outcome}"}} '
        return sum(float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix))

    before = scrape(client)
    with responses.RequestsMock() as panel:
        panel.add(responses.POST, API_URL, json={"balance": "12.34", "currency": "USD"})
        panel.add(responses.POST, API_URL, json={"error": "Incorrect request"})
        provider_refresh_balance(provider=provider)
        with pytest.raises(Exception, match="Incorrect request"):
            provider_refresh_balance(provider=provider)
    after = scrape(client)
    assert count(after, "ok") == count(before, "ok") + 1
    assert count(after, "rejected") == count(before, "rejected") + 1
    assert 'jappanel_provider_call_seconds_bucket{action="balance",le="0.1"}' in after
    assert 'jappanel_provider_balance{currency="USD",provider="JAP"} 12.34' in after


def test_task_runs_are_timed_and_heartbeat_ages_reported(client, metrics_on, db):
    heartbeat_task.apply()
    heartbeat_record("beat")
    text = scrape(client)
    assert 'jappanel_task_seconds_count{state="SUCCESS",task="jappanel.tasks.heartbeat"}' in text
    assert 'jappanel_heartbeat_age_seconds{process="worker"}' in text
    assert 'jappanel_heartbeat_age_seconds{process="beat"}' in text


def test_orders_are_counted_by_status_once_the_orders_app_has_them(client, metrics_on, db):
    text = scrape(client)
    try:
        order_model = apps.get_model("orders", "Order")
        order_model._meta.get_field("status")
    except Exception:
        assert "jappanel_orders" not in text
    else:
        assert "# TYPE jappanel_orders gauge" in text


class Captured(Transport):
    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.envelopes: list[str] = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope.serialize().decode())


@pytest.fixture
def sentry():
    transport = Captured()
    sentry_init(dsn="https://public@sentry.example/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off again


def test_sentry_events_carry_no_key_from_request_data_locals_or_extras(sentry, rf):
    sandbox_key = API_KEY
    request = rf.post("/sandbox/api/v2", {"key": sandbox_key, "action": "balance"})
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("form", {"key": sandbox_key, "action": "balance"})
        scope.set_context("panel", {"api_key": sandbox_key, "nested": [{"key": sandbox_key}]})
        try:
            params = dict(request.POST.items())
            raise RuntimeError(f"action {params['action']} failed")
        except RuntimeError:
            sentry_sdk.capture_exception()
    sentry_sdk.flush()
    assert sentry.envelopes, "no event was sent"
    assert_nowhere("\n".join(sentry.envelopes), "a Sentry event")


def test_scrub_event_replaces_key_fields_anywhere_and_keeps_the_rest():
    event = {
        "request": {"data": {"key": "k1", "action": "add"}, "headers": [["Authorization", "Bearer t"]]},
        "extra": {"deep": [{"api_key_encrypted": "gAAAA"}], "quantity": 100},
    }
    scrubbed = scrub_event(event)
    text = json.dumps(scrubbed)
    assert "k1" not in text and "Bearer t" not in text and "gAAAA" not in text
    assert scrubbed["request"]["data"]["action"] == "add"
    assert scrubbed["extra"]["quantity"] == 100


def test_balance_metric_is_a_number_of_the_stored_decimal(client, metrics_on, provider):
    provider.balance = Decimal("1000.00000")
    provider.save()
    assert 'jappanel_provider_balance{currency="USD",provider="JAP"} 1000.0' in scrape(client)


def test_with_a_token_counters_of_separate_processes_add_up_in_data_dir(tmp_path):
    # Web, worker and beat are separate processes: each one's calls must reach /metrics.
    count = (
        "import django; django.setup(); from providers.client.signals import call_finished; "
        "call_finished.send(sender=None, action='status', outcome='ok', seconds=0.2)"
    )
    read = (
        "import django; django.setup(); from jappanel.metrics import metrics_text; "
        "print(metrics_text().decode())"
    )
    env = {**os.environ, "METRICS_TOKEN": TOKEN, "DATA_DIR": str(tmp_path)}
    for name in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL"):  # SQLite in the temporary DATA_DIR
        env.pop(name, None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, timeout=120)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    result = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert 'jappanel_provider_calls_total{action="status",outcome="ok"} 2.0' in result.stdout
    assert (tmp_path / "metrics").is_dir()
