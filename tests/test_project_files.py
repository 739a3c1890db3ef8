"""The files that deploy and document the project stay true to the code.

No Docker engine runs in CI: docker-compose.yml and the Dockerfile are parsed and checked
against the project instead.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "worker-interactive", "beat", "flower")
# Read through `_secret()`, so each also comes from a file named by NAME_FILE.
SECRET_PATTERN = r"_secret\(\s*\"([A-Z_]+)\""


def env_example_assignments() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)]


def env_example_values() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))


def env_example_names() -> set[str]:
    return set(env_example_assignments())


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(compose_text())["services"]


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    settings_source = (ROOT / "jappanel" / "settings.py").read_text()
    used = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", settings_source))
    used |= set(re.findall(SECRET_PATTERN, settings_source))
    assert used, "no environment variables found: the pattern is out of date"
    assert used <= env_example_names(), f"missing from .env.example: {sorted(used - env_example_names())}"


def test_env_example_sets_every_setting_exactly_once():
    names = env_example_assignments()
    assert names, "no settings found: the pattern is out of date"
    assert sorted(name for name in set(names) if names.count(name) > 1) == []


def test_every_secret_that_may_come_from_a_file_is_named_in_the_env_example_header():
    secrets = re.findall(SECRET_PATTERN, (ROOT / "jappanel" / "settings.py").read_text())
    header = (ROOT / ".env.example").read_text().split("# --- Core")[0]
    assert secrets
    for name in secrets:
        assert name in header, f"{name} (and {name}_FILE) is not described in the .env.example header"


def test_env_example_ships_no_secret_value_an_operator_could_forget_to_change():
    values = env_example_values()
    for name in (
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "DATABASE_PASSWORD",
        "DJANGO_SUPERUSER_PASSWORD",
        "JAP_API_KEY",
        "METRICS_TOKEN",
        "FLOWER_BASIC_AUTH",
        "EMAIL_URL",
        "SANDBOX_API_KEY",
    ):
        assert values[name] == "", name
    assert values["DEBUG"] == "0"


def test_env_example_leaves_the_sandbox_off_in_production():
    assert env_example_values()["SANDBOX_ENABLED"] == "0"


def test_compose_runs_web_worker_beat_and_a_one_shot_migrate_from_one_image(services):
    assert {*APP_SERVICES, "postgres", "redis"} <= set(services)
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        assert services[name]["env_file"] == ".env"
        assert services[name]["volumes"] == ["appdata:/data"]
    assert services["migrate"]["restart"] == "no"
    assert services["beat"]["deploy"]["replicas"] == 1


def test_compose_has_one_x_app_anchor_and_no_copied_environment_blocks(services):
    text = compose_text()
    assert text.count("&app") == 1
    assert all(f"{name}:\n    <<: *app" in text for name in APP_SERVICES)
    anchor = yaml.safe_load(text)["x-app"]
    for name in APP_SERVICES:
        assert services[name]["environment"] == anchor["environment"], name


def test_only_web_publishes_a_port_and_flower_sits_behind_a_profile(services):
    assert [name for name, service in services.items() if "ports" in service] == ["web"]
    assert services["flower"]["profiles"] == ["flower"]
    assert "FLOWER_BASIC_AUTH" in " ".join(services["flower"]["command"])


def test_compose_publishes_web_on_loopback_only_and_trusts_the_one_proxy_in_front(services):
    # Reachable from this host only, where the TLS proxy forwards to it (README "Deploy");
    # behind that one proxy, the client's address is the X-Forwarded-For hop it added.
    [published] = services["web"]["ports"]
    assert published.startswith("${BIND_ADDRESS:-127.0.0.1}:")
    assert env_example_values()["BIND_ADDRESS"] == "127.0.0.1"
    assert services["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"
    assert env_example_values()["TRUSTED_PROXY_COUNT"] == "1"


def test_databases_are_pinned_and_keep_their_data_in_named_volumes(services):
    assert re.fullmatch(r"postgres:16\.\d+", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7\.\d+\.\d+", services["redis"]["image"])
    declared = set(yaml.safe_load(compose_text())["volumes"])
    assert declared == {"appdata", "pgdata", "redisdata"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]


def test_every_long_running_service_has_a_healthcheck(services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK" in dockerfile  # web uses the image's
    for name in ("postgres", "redis", "worker", "worker-interactive", "beat"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("migrate", "flower"):  # they serve no /healthz
        assert services[name]["healthcheck"] == {"disable": True}


def test_start_order_waits_for_healthy_databases_and_a_finished_migration(services):
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "worker-interactive", "beat", "flower"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services and dependency != name, (name, dependency)


def test_every_variable_compose_uses_is_in_env_example():
    text = compose_text()
    referenced = set(re.findall(r"\$\{([A-Z_]+)", text)) | set(re.findall(r"\$\$([A-Z_]+)", text))
    assert referenced, "no variables found: the pattern is out of date"
    assert referenced <= env_example_names(), (
        f"missing from .env.example: {sorted(referenced - env_example_names())}"
    )


def _commands(services: dict) -> list[list[str]]:
    dockerfile = (ROOT / "Dockerfile").read_text()
    found = [
        yaml.safe_load(m) for m in re.findall(r"^(?:CMD|HEALTHCHECK.*\n\s*CMD) (\[.*\])$", dockerfile, re.M)
    ]
    for service in services.values():
        command = service.get("command")
        if command and command[:2] == ["sh", "-c"]:
            command = shlex.split(command[2].split("exec ", 1)[1])
        if command:
            found.append(command)
        test = service.get("healthcheck", {}).get("test")
        if test and test[0] == "CMD":
            found.append(test[1:])
    return found


def test_every_command_compose_and_the_dockerfile_run_exists_in_the_project(services):
    commands = _commands(services)
    programs = {command[0] for command in commands}
    assert programs == {"python", "gunicorn", "celery", "redis-server", "redis-cli"}
    for command in commands:
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in get_commands(), command
        elif command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]), command
        elif command[0] == "gunicorn":
            assert importlib.util.find_spec(command[1]), command
        elif command[0] == "celery":
            assert command[1:3] == ["-A", "jappanel"]
            assert command[3] in {"worker", "beat", "flower"}, command
            assert command[3] != "flower" or importlib.util.find_spec("flower")
        if command[0] in {"gunicorn", "celery"}:
            assert (ROOT / ".venv" / "bin" / command[0]).exists()


def test_the_dockerfile_builds_one_slim_image_run_by_a_non_root_user_with_static_files_collected():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert len(stages) == 2 and all(re.fullmatch(r"python:3\.11-slim\S*", stage) for stage in stages)
    assert "COPY --from=build /venv /venv" in dockerfile
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user == ["app"]
    assert dockerfile.index("collectstatic") < dockerfile.index("USER app")
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def procfile() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)


def test_the_procfile_runs_web_both_workers_and_beat_with_installed_programs():
    entries = procfile()
    assert set(entries) == {"web", "worker", "interactive", "beat"}
    for command in entries.values():
        program = command.split()[0]
        assert program.startswith(".venv/bin/"), command
        assert (ROOT / program).exists(), f"{program} is not installed by the project"


def consumed_queues(command: list[str]) -> set[str] | None:
    """The queues a `celery worker` command line consumes; None for any other command."""
    if command[:4] != ["celery", "-A", "jappanel", "worker"]:
        return None
    for flag in ("--queues", "-Q"):
        if flag in command:
            return set(command[command.index(flag) + 1].split(","))
    return {settings.CELERY_TASK_DEFAULT_QUEUE}


@pytest.mark.parametrize("source", ["Procfile", "docker-compose.yml"])
def test_every_queue_is_consumed_and_interactive_work_has_a_worker_of_its_own(source, services):
    if source == "Procfile":
        commands = [shlex.split(line.removeprefix(".venv/bin/")) for line in procfile().values()]
    else:
        commands = [service["command"] for service in services.values() if "command" in service]
    workers = [queues for queues in map(consumed_queues, commands) if queues is not None]
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed == {"interactive"}
    assert set().union(*workers) == {settings.CELERY_TASK_DEFAULT_QUEUE, "interactive"}
    assert {"interactive"} in workers, "no worker consumes the interactive queue alone"
