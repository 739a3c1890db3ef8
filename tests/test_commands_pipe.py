"""Every command that prints JSON prints only JSON on stdout, one object per line; logs go to stderr.

Run as an operator runs them (separate processes, logging configured as in production, at INFO),
on a SQLite database of their own, against the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def manage(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("pipe")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    environment.update(DATA_DIR=str(data_dir), LOG_LEVEL="INFO", LOG_FORMAT="plain", SANDBOX_ENABLED="1")

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=environment,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    migrated = run("migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    return run


def json_lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines, "nothing on stdout"
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(item, dict) for item in objects)
    return objects


def test_each_json_command_prints_one_object_per_line_and_logs_on_stderr(manage):
    (synced,) = json_lines(result := manage("sync_catalog", "--provider", "Sandbox"))
    assert synced["added"] >= 200
    assert "INFO" in result.stderr  # the logs are there, on the other stream

    service = manage(
        "shell",
        "-c",
        "from catalog.models import Service; print(Service.objects.filter(type='Default', "
        "name__contains='Instagram Followers').order_by('pk').values_list('service_id', flat=True)[0])",
    )
    service_id = service.stdout.strip().splitlines()[-1]

    (placed,) = json_lines(
        manage(
            "place_order", "--service", service_id, "--link", "https://instagram.com/p/a", "--quantity", "100"
        )
    )
    assert placed["status"] == "pending" and placed["provider_order_id"]

    mass = f"{service_id} | https://instagram.com/p/b | 100\n{service_id} | https://instagram.com/p/c | 100\n"
    assert [line["line"] for line in json_lines(manage("place_orders", "-", stdin=mass))] == [1, 2]

    (shown,) = json_lines(manage("show_order", placed["code"]))
    assert shown["code"] == placed["code"]

    (round_,) = json_lines(manage("poll_orders"))
    assert {"due", "checked", "calls"} <= set(round_)

    (balance,) = json_lines(manage("jap", "balance"))
    assert balance["currency"] == "USD"
