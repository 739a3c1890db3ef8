"""Logs: stderr, readable or one JSON object per line, with the context of the work at hand."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jappanel.logging import ContextFilter, JsonFormatter, PlainFormatter, log_context
from providers.models import Provider
from providers.tasks import refresh_balances
from tests.production.conftest import API_KEY, assert_nowhere, formatted_logs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the root logger writes with the JSON formatter, as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_json_line_is_one_object_with_the_order_context(json_lines):
    with log_context(order_code="ORD-7K2", provider_order_id=991):
        logging.getLogger("orders.services").warning("submitted\nwith a second line")
    (entry,) = entries(json_lines)
    assert entry["message"] == "submitted\nwith a second line"
    assert entry["order_code"] == "ORD-7K2" and entry["provider_order_id"] == "991"
    assert entry["level"] == "WARNING" and entry["logger"] == "orders.services"
    assert "request_id" not in entry and "task_id" not in entry


def test_an_exception_is_written_inside_its_json_line(json_lines):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("x").exception("failed")
    (entry,) = entries(json_lines)
    assert "RuntimeError: boom" in entry["exception"]


def test_a_request_gets_an_id_that_its_log_lines_and_its_response_carry(client, admin_user, json_lines):
    client.force_login(admin_user)
    response = client.get("/")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = [entry for entry in entries(json_lines) if entry["logger"] == "jappanel.request"]
    assert line["request_id"] == request_id
    assert line["message"].startswith("GET / 200 ")


def test_a_sane_request_id_from_the_proxy_is_kept_and_anything_else_replaced(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="req-42.a_b")["X-Request-ID"] == "req-42.a_b"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x\nforged line")["X-Request-ID"]
    assert forged != "x\nforged line" and len(forged) == 32


def test_a_failed_request_logged_by_django_still_carries_its_request_id(client, db, json_lines):
    response = client.get("/readyz", HTTP_X_REQUEST_ID="probe-1")  # 503: no heartbeats yet
    assert response.status_code == 503
    (line,) = [entry for entry in entries(json_lines) if entry["logger"] == "django.request"]
    assert line["request_id"] == "probe-1"


def test_task_lines_carry_the_task_id_and_it_does_not_outlive_the_task(db, json_lines):
    result = refresh_balances.apply()
    task_lines = [entry for entry in entries(json_lines) if entry.get("task_id")]
    assert task_lines and {entry["task_id"] for entry in task_lines} == {result.id}
    logging.getLogger("after").info("after the task")
    assert "task_id" not in entries(json_lines)[-1]


def test_plain_lines_are_readable_with_the_context_in_brackets():
    record = logging.LogRecord("orders", logging.INFO, __file__, 1, "sent", None, None)
    with log_context(order_code="ORD-1"):
        ContextFilter().filter(record)
    assert PlainFormatter().format(record).endswith(" INFO orders [order_code=ORD-1]: sent")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATA_DIR": env.pop("DATA_DIR"), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_log_format_json_turns_every_log_line_on_stderr_into_json_and_leaves_stdout_alone(tmp_path):
    result = run_python(
        "import django, logging; django.setup(); logging.getLogger('probe').info('hello')",
        LOG_FORMAT="json",
        DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    (entry,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert entry["message"] == "hello" and entry["logger"] == "probe"


def test_an_unknown_log_format_stops_start_up_with_one_line(tmp_path):
    result = run_python("import django; django.setup()", LOG_FORMAT="xml", DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert (
        result.stderr.strip() == "jappanel: configuration error: LOG_FORMAT must be plain or json, not 'xml'"
    )


def test_a_real_http_call_logs_neither_the_request_body_nor_the_key(live_server, settings, caplog, db):
    settings.SANDBOX_API_KEY = API_KEY
    Provider.objects.all().delete()
    provider = Provider(name="Sandbox over HTTP", api_url=f"{live_server.url}/sandbox/api/v2")
    provider.set_api_key(API_KEY)
    provider.save()
    caplog.set_level(logging.DEBUG)
    with provider.client() as client:
        client.balance()
    logs = formatted_logs(caplog.records)
    assert "balance -> HTTP 200" in logs
    assert_nowhere(logs, "the logs")
    assert "action=balance" not in logs and "key=" not in logs
