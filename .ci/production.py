"""CI: run the compose deployment's shape for real, natively (no Docker engine runs here).

Reads docker-compose.yml and the Dockerfile, and runs what they would: the image's build step
that needs the code (collectstatic), then each app service's command in its start order
(migrate to completion, then web, the workers and beat), with .env.example's production values
(secrets generated), the environment compose adds, and this machine's PostgreSQL and Redis in
place of the compose services. It checks that /readyz is ready with both heartbeats, that the
login page renders with its static files, and that a catalog sync and one order go through on an
explicitly enabled sandbox; then stops everything and expects each process to exit cleanly.

A broken command line, a missing collectstatic or a wrong variable in the compose file fails it.
Usage: .venv/bin/python .ci/production.py
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN = os.environ.get("CI_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# A Redis database of its own, so that a test run's queues on db 0 never meet these processes'.
REDIS_DB = os.environ.get("CI_PRODUCTION_REDIS_DB", "7")
READY_SECONDS = 180


class Failed(Exception):
    """The production shape did not come up, or did not behave."""


def say(message: str) -> None:
    print(f"production: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            values[name] = value
    return values


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def image_command() -> list[str]:
    """The image's CMD (what `web` runs: compose gives it no command of its own)."""
    found = re.findall(r"^CMD (\[.*\])$", dockerfile(), re.M)
    if not found:
        raise Failed("the Dockerfile has no CMD")
    return json.loads(found[-1])


def image_healthcheck() -> list[str]:
    """The image's HEALTHCHECK command (what checks `web`)."""
    found = re.findall(r"^HEALTHCHECK.*\n\s*CMD (\[.*\])$", dockerfile(), re.M)
    if not found:
        raise Failed("the Dockerfile has no HEALTHCHECK")
    return json.loads(found[-1])


def build_steps() -> list[str]:
    """The Dockerfile's RUN lines that run the project's own code (collectstatic), as shell text."""
    joined = dockerfile().replace("\\\n", " ")
    return [
        line.strip()[4:] for line in joined.splitlines() if line.startswith("RUN ") and "manage.py" in line
    ]


def compose_app_services() -> dict[str, dict]:
    """The services built from the project's image, in compose's order (optional profiles left out)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    app = {name: spec for name, spec in services.items() if spec.get("build") and not spec.get("profiles")}
    if not {"migrate", "web", "beat"} <= set(app) or not any(name.startswith("worker") for name in app):
        raise Failed(
            f"compose's app services are {sorted(app)}: migrate, web, a worker and beat are expected"
        )
    return app


def one_shot(spec: dict) -> bool:
    """A service that runs once and exits (migrate), which everything else waits for."""
    return spec.get("restart") == "no"


def machine_url(url: str, *, database: str) -> str:
    """A compose URL (postgres://…@postgres:5432/…, redis://redis:6379/0) pointed at this machine.

    Only the host changes (and, for PostgreSQL, the role and a database of this run's own): a
    wrong port or scheme in the compose file stays wrong and fails the run.
    """
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    if parts.hostname == "postgres":
        return urlunsplit((parts.scheme, f"postgres@127.0.0.1{port}", f"/{database}", "", ""))
    if parts.hostname == "redis":
        return urlunsplit((parts.scheme, f"127.0.0.1{port}", f"/{REDIS_DB}", "", ""))
    return url


def env_file() -> dict[str, str]:
    """The operator's .env: .env.example with the generated secrets it asks for."""
    values = env_example()
    values.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_PASSWORD=secrets.token_urlsafe(24),
        # Explicitly enabled, as an operator trying the product would: the order below goes to it.
        SANDBOX_ENABLED="1",
    )
    return values


def interpolate(text: str, dotenv: dict[str, str]) -> str:
    """Compose's variable substitution, with the .env as compose reads it: ${NAME}, ${NAME:-default},
    ${NAME-default}, ${NAME:?error}, $$."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group("name"), match.group("op") or "", match.group("arg") or ""
        current = os.environ.get(name, dotenv.get(name))
        if operator == ":-":
            return current or argument
        if operator == "-":
            return argument if current is None else current
        if operator in (":?", "?") and not current:
            raise Failed(f"compose needs {name}: {argument}")
        return current or ""

    pattern = r"\$\$|\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>[^}]*))?\}"
    return re.sub(pattern, value, text)


def production_environment(
    service: dict, *, dotenv: dict[str, str], data_dir: Path, database: str
) -> dict[str, str]:
    """The .env (compose's env_file), then what compose sets for the service."""
    values = dict(dotenv)
    for name, value in (service.get("environment") or {}).items():
        values[name] = interpolate(str(value), dotenv)
    # Container paths and service names become this machine's.
    if values.get("DATA_DIR") == "/data":
        values["DATA_DIR"] = str(data_dir)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if values.get(name):
            values[name] = machine_url(values[name], database=database)
    environment = {key: value for key, value in os.environ.items() if key in {"HOME", "LANG", "TMPDIR"}}
    environment.update(values)
    environment["PATH"] = f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    environment["PYTHONPATH"] = str(ROOT)  # the image runs the code from /app, never installed
    return environment


def native(command: list[str], port: int) -> list[str]:
    """A container command as it runs here: the web port is a free one on loopback."""
    return [re.sub(r"^0\.0\.0\.0:8000$", f"127.0.0.1:{port}", part) for part in command]


class Deployment:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.database = f"jappanel_production_ci_{os.getpid()}"
        self.dotenv = env_file()
        self.port = free_port()
        self.services = compose_app_services()
        self.one_shots = [name for name, spec in self.services.items() if one_shot(spec)]
        self.long_running = [name for name, spec in self.services.items() if not one_shot(spec)]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.host = env_example()["ALLOWED_HOSTS"].split(",")[0].strip()
        self.http = requests.Session()
        # Behind the TLS proxy: the app sees its host name and X-Forwarded-Proto: https.
        self.http.headers.update({"Host": self.host, "X-Forwarded-Proto": "https"})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, name: str) -> dict[str, str]:
        return production_environment(
            self.services[name], dotenv=self.dotenv, data_dir=self.workdir / "data", database=self.database
        )

    def run(self, name: str, command: list[str], *, timeout: int = 300) -> str:
        result = subprocess.run(
            command, cwd=ROOT, env=self.environment(name), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise Failed(
                f"{name}: {shlex.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def start(self, name: str) -> None:
        command = native(self.services[name].get("command") or image_command(), self.port)
        self.logs[name] = self.workdir / f"{name}.log"
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment(name),
            stdout=self.logs[name].open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        say(f"{name}: {shlex.join(command)}")

    def alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise Failed(f"{name} exited with {process.returncode}")

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, allow_redirects=False)

    # The steps ------------------------------------------------------------------------------

    def create_database(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        # Messages an interrupted earlier run left behind would name rows of another database.
        redis.Redis(host="127.0.0.1", db=int(REDIS_DB)).flushdb()

    def drop_database(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def build(self) -> None:
        shutil.rmtree(ROOT / "staticfiles", ignore_errors=True)  # only this build's files count
        steps = build_steps()
        if not any("collectstatic" in step for step in steps):
            raise Failed(
                "the Dockerfile never runs collectstatic: production pages would have no static files"
            )
        for step in steps:
            environment = {"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT)}
            result = subprocess.run(
                ["sh", "-c", step], cwd=ROOT, env=environment, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise Failed(f"build step failed: {step}\n{result.stderr[-3000:]}")
        say("build: static files collected")

    def wait_ready(self) -> dict:
        deadline = time.monotonic() + READY_SECONDS
        last: dict = {}
        while time.monotonic() < deadline:
            self.alive()
            try:
                response = self.get("/readyz")
                last = response.json()
                if response.status_code == 200 and last.get("worker") == "ok" and last.get("beat") == "ok":
                    return last
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise Failed(f"/readyz did not report ready within {READY_SECONDS} s: {last}")

    def check_healthchecks(self) -> list[str]:
        """Each service's own health check, as Docker would run it, must pass."""
        passed = []
        for name in self.long_running:
            test = (self.services[name].get("healthcheck") or {}).get("test")
            if test and test[0] == "CMD":
                command = test[1:]
            elif name == "web":
                command = [*image_healthcheck(), f"http://127.0.0.1:{self.port}/healthz"]
            else:
                raise Failed(f"{name} has no health check")
            self.run(name, command, timeout=60)
            passed.append(name)
        return passed

    def check_login_page(self) -> int:
        response = self.get("/accounts/login/")
        if response.status_code != 200 or 'name="password"' not in response.text:
            raise Failed(f"the login page answered {response.status_code}")
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', response.text)
        if not assets:
            raise Failed("the login page links no static files")
        for asset in assets:
            answer = self.get(asset)
            if answer.status_code != 200 or not answer.content:
                raise Failed(f"{asset} answered {answer.status_code}")
        return len(assets)

    def manage(self, *args: str) -> list[dict]:
        """A management command's JSON lines (logs, also JSON in production, are told apart by shape)."""
        output = self.run("worker", ["python", "manage.py", *args])
        objects = []
        for line in output.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                objects.append(value)
        return objects

    def sync_and_order(self) -> str:
        synced = [line for line in self.manage("sync_catalog", "--provider", "Sandbox") if "added" in line]
        # The worker's first-start sync may have filled the catalog already: then all are unchanged.
        if (
            not synced
            or synced[-1].get("error")
            or not (synced[-1].get("added") or synced[-1].get("unchanged"))
        ):
            raise Failed(f"the catalog sync did not go through: {synced}")
        service = self.run(
            "worker",
            [
                "python",
                "manage.py",
                "shell",
                "-c",
                "from catalog.models import Service; print('service', *Service.objects.filter("
                "active=True, type='Default', provider__name='Sandbox', name__contains='Instagram Followers'"
                ").order_by('pk').values_list('service_id', 'min_quantity')[0])",
            ],
        )
        (found,) = [line.split()[1:] for line in service.splitlines() if line.startswith("service ")]
        service_id, minimum = (int(part) for part in found)
        placed = [
            line
            for line in self.manage(
                "place_order",
                "--service",
                str(service_id),
                "--link",
                "https://instagram.com/ci",
                "--quantity",
                str(minimum),
            )
            if "code" in line
        ]
        if not placed:
            raise Failed("place_order printed no order")
        code = placed[-1]["code"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            self.alive()
            shown = [line for line in self.manage("show_order", code) if "code" in line]
            if shown and shown[-1].get("provider_order_id"):
                accepted = shown[-1]
                return f"{code} accepted as #{accepted['provider_order_id']} ({accepted.get('status')})"
            if shown and shown[-1].get("status") in {"rejected", "unconfirmed"}:
                raise Failed(f"the order ended {shown[-1].get('status')}: {shown[-1]}")
            time.sleep(1)
        raise Failed(f"the worker did not send order {code} within 120 s")

    def stop(self) -> list[str]:
        """SIGTERM to everything, then each must exit by itself, cleanly."""
        problems = []
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                problems.append(f"{name} did not stop within 60 s of SIGTERM")
                continue
            if code not in (0, -signal.SIGTERM):
                problems.append(f"{name} exited {code} on SIGTERM")
        return problems

    def tail_logs(self) -> None:
        for name, path in self.logs.items():
            print(f"--- {name} (last lines)", file=sys.stderr)
            lines = path.read_text(errors="replace").splitlines()
            print("\n".join(lines[-40:]), file=sys.stderr)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="jappanel-production-") as workdir:
        deployment = Deployment(Path(workdir))
        (Path(workdir) / "data").mkdir()
        deployment.create_database()
        try:
            deployment.build()
            for name in deployment.one_shots:
                deployment.run(name, deployment.services[name]["command"])
                say(f"{name}: done")
            for name in deployment.long_running:
                deployment.start(name)
            ready = deployment.wait_ready()
            say(f"/readyz: {ready}")
            say(f"health checks pass: {', '.join(deployment.check_healthchecks())}")
            say(f"login page: 200 with {deployment.check_login_page()} static files")
            say(f"sandbox: {deployment.sync_and_order()}")
        except Exception as failure:
            print(f"production: FAILED: {failure!r}", file=sys.stderr)
            deployment.stop()
            deployment.tail_logs()
            return 1
        finally:
            problems = deployment.stop() if deployment.processes else []
            deployment.drop_database()
        if problems:
            print(f"production: FAILED: {'; '.join(problems)}", file=sys.stderr)
            deployment.tail_logs()
            return 1
        say(f"ok: {', '.join(deployment.services)} ran as compose runs them, and stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
