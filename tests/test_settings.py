"""Start-up with bad configuration ends with one readable line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_readable_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_a_missing_secret_key_in_production_stops_start_up_with_one_line(tmp_path):
    result = run_manage(
        "check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="example.com", DATA_DIR=str(tmp_path)
    )
    assert_one_readable_line(result, "SECRET_KEY is not set")


def test_missing_allowed_hosts_in_production_stops_start_up_with_one_line(tmp_path):
    result = run_manage("check", DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="", DATA_DIR=str(tmp_path))
    assert_one_readable_line(result, "ALLOWED_HOSTS is not set")


def test_production_without_encryption_keys_stops_start_up_with_one_line(tmp_path):
    result = run_manage(
        "check",
        DEBUG="0",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="example.com",
        FIELD_ENCRYPTION_KEYS="",
        DATA_DIR=str(tmp_path),
    )
    assert_one_readable_line(result, "FIELD_ENCRYPTION_KEYS is not set")


def test_an_encryption_key_that_is_not_a_fernet_key_is_one_readable_line(tmp_path):
    result = run_manage("check", DEBUG="1", FIELD_ENCRYPTION_KEYS="not-a-key", DATA_DIR=str(tmp_path))
    assert_one_readable_line(result, "not a Fernet key")


def test_a_price_jump_threshold_that_is_not_a_percentage_is_one_readable_line(tmp_path):
    for value in ("twenty", "-5", "Infinity"):
        result = run_manage("check", DEBUG="1", PRICE_JUMP_ALERT_PERCENT=value, DATA_DIR=str(tmp_path))
        assert_one_readable_line(result, "PRICE_JUMP_ALERT_PERCENT must be a percentage")


def test_a_database_url_that_is_not_a_url_is_one_readable_line(tmp_path):
    result = run_manage("check", DEBUG="1", DATABASE_URL="nonsense", DATA_DIR=str(tmp_path))
    assert_one_readable_line(result, "DATABASE_URL is not a database URL")


def test_a_database_that_does_not_answer_is_one_readable_line(tmp_path):
    result = run_manage(
        "migrate",
        DEBUG="1",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing",
        DATA_DIR=str(tmp_path),
    )
    assert_one_readable_line(result, "cannot use the database")


def test_a_fresh_checkout_runs_on_sqlite_and_the_file_system_broker(tmp_path):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DATABASES['default']['OPTIONS'])",
        DEBUG="1",
        DATA_DIR=str(tmp_path),
        CELERY_BROKER_URL="",
        REDIS_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert "django.db.backends.sqlite3 filesystem://" in result.stdout
    assert "'transaction_mode': 'IMMEDIATE'" in result.stdout
    assert "journal_mode=WAL" in result.stdout
    assert (tmp_path / "broker" / "queue").is_dir()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection as c; cur = c.cursor(); "
        "cur.execute('PRAGMA journal_mode'); print(cur.fetchone()[0]); "
        "cur.execute('PRAGMA busy_timeout'); print(cur.fetchone()[0])",
        DEBUG="1",
        DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    journal_mode, busy_timeout = result.stdout.split()
    assert journal_mode == "wal"
    assert int(busy_timeout) >= 20_000


def test_two_test_runs_on_one_postgresql_server_never_share_a_database_name(tmp_path):
    show = "from django.conf import settings; print(settings.DATABASES['default']['TEST']['NAME'])"
    environment = {
        **os.environ,
        "DATABASE_URL": "postgres://someone@127.0.0.1:5432/app",
        "DATA_DIR": str(tmp_path),
    }
    environment["DJANGO_SETTINGS_MODULE"] = "jappanel.settings"
    names = {
        subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {show}"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(names) == 2
    assert all(name.startswith("test_app_") for name in names)


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.com"}
SHOW_SANDBOX = (
    "from django.conf import settings as s; from django.urls import resolve, Resolver404\n"
    "try:\n    resolve('/sandbox/api/v2'); served = True\n"
    "except Resolver404:\n    served = False\n"
    "print(s.SANDBOX_ENABLED, repr(s.SANDBOX_API_KEY), served)"
)


def test_with_debug_off_the_sandbox_is_off_unless_it_is_switched_on(tmp_path):
    result = run_manage("shell", "--no-imports", "-c", SHOW_SANDBOX, **PRODUCTION, DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "''", "False"]
    switched_on = run_manage(
        "shell", "--no-imports", "-c", SHOW_SANDBOX, **PRODUCTION, SANDBOX_ENABLED="1", DATA_DIR=str(tmp_path)
    )
    assert switched_on.stdout.split() == ["True", "''", "True"]
    development = run_manage("shell", "--no-imports", "-c", SHOW_SANDBOX, DEBUG="1", DATA_DIR=str(tmp_path))
    assert development.stdout.split() == ["True", "'sandbox-key'", "True"]


def test_the_published_sandbox_key_with_debug_off_stops_start_up_with_one_line(tmp_path):
    result = run_manage(
        "check", **PRODUCTION, SANDBOX_ENABLED="1", SANDBOX_API_KEY="sandbox-key", DATA_DIR=str(tmp_path)
    )
    assert_one_readable_line(result, "SANDBOX_API_KEY=sandbox-key is the published development key")


def test_without_a_configured_key_each_install_gets_its_own_random_sandbox_key_that_every_process_reads(
    tmp_path,
):
    show_key = (
        "from providers.models import Provider; from providers.sandbox.services import account_authenticate; "
        "key = Provider.objects.get(name='Sandbox', active=True).client()._api_key; "
        "print(key, account_authenticate(key=key).pk, account_authenticate(key='sandbox-key'))"
    )

    def install(name: str) -> list[str]:
        """Migrate a new install (as compose's migrate service does), then read its key from two
        more processes (web and worker, or one process before and after a restart)."""
        environment = {**PRODUCTION, "SANDBOX_ENABLED": "1", "DATA_DIR": str(tmp_path / name)}
        assert run_manage("migrate", "--verbosity", "0", **environment).returncode == 0
        seen = [run_manage("shell", "--no-imports", "-c", show_key, **environment) for _ in range(2)]
        assert all(result.returncode == 0 for result in seen), seen[0].stderr
        assert seen[0].stdout == seen[1].stdout
        return seen[0].stdout.split()

    key, _, published = install("one")
    assert len(key) >= 40 and key != "sandbox-key"
    assert published == "None"  # the development key opens nothing
    assert install("two")[0] != key
