"""`make bench`: measure the speed goals of the issues and print each figure beside its goal.

Runs against PostgreSQL (BENCH_DATABASE_URL, default a `jappanel_bench` database on the local
server, created if missing). The remote panel is the only stand-in: its `services` answer is
served by `responses` from generated JSON, so the figures include parsing and every query.
`bench/run.py catalog_page reports_page` runs only those (`make bench BENCH="…"`).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project and bench/ importable
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jappanel_bench")
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jappanel.settings")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "H-JPm0-cQkaFbyzf_Y3RmrNARq5ud_x9EZpa6-EISMY=")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ensure_database(BENCH_URL)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

BENCHES = [
    "bench.catalog_sync",
    "bench.catalog_page",
    "bench.scorecards",
    "bench.orders",
    "bench.single_order",
    "bench.polling",
    "bench.placing",
    "bench.orders_page",
    "bench.refills_due_page",
    "bench.reports_page",
    "bench.api",
    "bench.notifications",
]


def main(only: list[str]) -> None:
    chosen = [name for name in BENCHES if not only or name.removeprefix("bench.") in only]
    unknown = set(only) - {name.removeprefix("bench.") for name in BENCHES}
    if unknown:
        sys.exit(
            f"bench: no benchmark {', '.join(sorted(unknown))}; choose from "
            + ", ".join(name.removeprefix("bench.") for name in BENCHES)
        )
    call_command("migrate", verbosity=0)
    print(f"jappanel benchmarks on {connection.vendor} ({connection.settings_dict['NAME']})")
    for module_name in chosen:
        importlib.import_module(module_name).run()


if __name__ == "__main__":
    main(sys.argv[1:])
