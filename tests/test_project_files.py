"""The files that deploy and document the project stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def env_example_names() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)}


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    settings_source = (ROOT / "jappanel" / "settings.py").read_text()
    used = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", settings_source))
    assert used, "no environment variables found: the pattern is out of date"
    assert used <= env_example_names(), f"missing from .env.example: {sorted(used - env_example_names())}"


def test_docker_compose_runs_web_worker_and_beat_from_one_image_on_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "migrate", "postgres", "redis"} <= set(services)
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["env_file"] == [".env"] or services[name]["env_file"] == ".env"
    assert [name for name, service in services.items() if "ports" in service] == ["web"]
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    referenced = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    assert referenced <= env_example_names(), (
        f"missing from .env.example: {sorted(referenced - env_example_names())}"
    )


def test_the_procfile_runs_web_worker_and_beat_with_installed_programs():
    entries = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert set(entries) == {"web", "worker", "beat"}
    for command in entries.values():
        program = command.split()[0]
        assert program.startswith(".venv/bin/"), command
        assert (ROOT / program).exists(), f"{program} is not installed by the project"


def test_every_compose_dependency_names_a_service_and_none_depends_on_itself():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services and dependency != name, (name, dependency)
