"""The production configuration of .env.example passes Django's deploy checks; secrets come
from files; the first admin and the key rotation are explicit commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from jappanel import healthcheck
from providers import crypto
from providers.models import Provider

ROOT = Path(__file__).resolve().parents[2]
# What an operator generates before the first `docker compose up` (.env.example leaves them empty).
GENERATED = {
    "SECRET_KEY": "k" * 10 + "-generated-for-the-test-0123456789abcdefghijklmnop",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_PASSWORD": "generated-for-the-test",
}


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))


def run(code_or_args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only the variables given: nothing from the developer's shell or the test settings.
    base = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "jappanel.settings",
    }
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {**env_example(), **GENERATED, "DATA_DIR": str(tmp_path), **overrides}


def test_check_deploy_passes_at_warning_level_under_the_production_environment_of_env_example(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_would_catch_a_production_without_https(tmp_path):
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


PRINT_SECRETS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SECRET_KEY, s.DATABASES['default']['PASSWORD'], "
    "','.join(s.FIELD_ENCRYPTION_KEYS), s.JAP_API_KEY)"
)


def test_secrets_are_read_from_the_files_named_by_name_file(tmp_path):
    files = {}
    values = {**GENERATED, "JAP_API_KEY": "jap-key-from-a-file"}
    for name, value in values.items():
        files[f"{name}_FILE"] = str(tmp_path / name.lower())
        Path(files[f"{name}_FILE"]).write_text(value + "\n")  # editors and `echo` add one
    env = production_env(tmp_path, **{name: "" for name in values}, **files)
    result = run(["-c", PRINT_SECRETS], env)
    assert result.returncode == 0, result.stderr
    printed = ["SECRET_KEY", "DATABASE_PASSWORD", "FIELD_ENCRYPTION_KEYS", "JAP_API_KEY"]
    assert result.stdout.split() == [values[name] for name in printed]


def test_the_database_password_replaces_the_one_in_the_url(tmp_path):
    env = production_env(tmp_path, DATABASE_URL="postgres://jappanel:old@db:5432/jappanel")
    assert run(["-c", PRINT_SECRETS], env).stdout.split()[1] == GENERATED["DATABASE_PASSWORD"]


def test_a_secret_set_twice_or_a_missing_file_is_one_readable_line(tmp_path):
    env = production_env(tmp_path, SECRET_KEY_FILE=str(tmp_path / "secret"))
    (tmp_path / "secret").write_text("x" * 60)
    result = run(["manage.py", "check"], env)
    assert (
        result.stderr.strip()
        == "jappanel: configuration error: SECRET_KEY and SECRET_KEY_FILE are both set; keep one"
    )

    env = production_env(tmp_path, SECRET_KEY="", SECRET_KEY_FILE="/run/secrets/nothing-here")
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "jappanel: configuration error: SECRET_KEY_FILE: "
        "cannot read /run/secrets/nothing-here (No such file or directory)"
    )


@pytest.mark.django_db
def test_the_first_admin_comes_from_django_superuser_variables_and_needs_a_real_password(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "ops")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "password")
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD: This password is too common"):
        call_command("ensure_admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-real-passphrase-for-ops")
    call_command("ensure_admin")
    user = get_user_model().objects.get(username="ops")
    assert user.is_superuser and user.email == "ops@example.com"
    assert user.check_password("a-real-passphrase-for-ops")
    assert "a-real-passphrase-for-ops" not in capsys.readouterr().out


@pytest.mark.django_db
def test_without_a_password_the_first_admin_gets_a_random_one_printed_once(monkeypatch, capsys):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_admin")
    password = re.search(r"^Password: (\S+)$", capsys.readouterr().out, re.M).group(1)
    assert len(password) >= 16
    call_command("ensure_admin")
    assert "Password" not in capsys.readouterr().out


@pytest.mark.django_db
def test_rotate_encryption_keys_moves_every_key_to_the_new_first_key(settings, capsys):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    Provider.objects.all().delete()
    provider = Provider(name="JAP", api_url="https://panel.example/api/v2")
    provider.set_api_key("jap-key-to-rotate-0001")
    provider.save()
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    assert "re-encrypted 1 provider API key(s)" in capsys.readouterr().out
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped, as the procedure says
    provider.refresh_from_db()
    assert crypto.decrypt(provider.api_key_encrypted) == "jap-key-to-rotate-0001"


def test_the_image_healthcheck_gets_healthz_with_an_allowed_host(live_server, monkeypatch, db):
    monkeypatch.setenv("ALLOWED_HOSTS", "localhost,other.example")
    assert healthcheck.host_header() == "localhost"
    assert healthcheck.main(["healthcheck", f"{live_server.url}/healthz"]) == 0
    assert healthcheck.main(["healthcheck", f"{live_server.url}/nothing-here"]) == 1
    assert healthcheck.main(["healthcheck", "http://127.0.0.1:1/healthz"]) == 1


def test_the_healthcheck_host_header_skips_wildcards():
    for hosts, expected in ((".example.com", "example.com"), ("*", "localhost"), ("", "localhost")):
        os.environ["ALLOWED_HOSTS"] = hosts
        try:
            assert healthcheck.host_header() == expected
        finally:
            del os.environ["ALLOWED_HOSTS"]
