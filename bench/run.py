"""`make bench`: measure the speed goals of the issues and print each figure beside its goal.

Runs against PostgreSQL (BENCH_DATABASE_URL, default a `jappanel_bench` database on the local
server, created if missing). The remote panel is the only stand-in: its `services` answer is
served by `responses` from generated JSON, so the figures include parsing and every query.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
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

import responses  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import CatalogSync, Service, ServicePriceChange  # noqa: E402
from catalog.services import catalog_sync  # noqa: E402
from jappanel.providers.models import Provider  # noqa: E402

PLATFORMS = ["Instagram", "YouTube", "TikTok", "Facebook", "Telegram", "Twitter", "Spotify", "Website Traffic"]
KINDS = ["Followers", "Likes", "Views", "Comments", "Members", "Plays", "Visitors"]


def services_answer(count: int, offset: int = 0, price_bump: int = 0) -> str:
    rows = []
    for i in range(count):
        platform = PLATFORMS[i % len(PLATFORMS)]
        kind = KINDS[(i // len(PLATFORMS)) % len(KINDS)]
        rows.append(
            {
                "service": offset + i + 1,
                "name": f"{platform} {kind} [Refill: {i % 60}D] [Max: {(i % 9 + 1) * 10}K] #{i}",
                "type": "Default" if i % 11 else "Custom Comments",
                "rate": str(Decimal(i % 997 + 1 + price_bump) / 100),
                "min": 10 + i % 90,
                "max": 10_000 * (i % 50 + 1),
                "dripfeed": bool(i % 2),
                "refill": bool(i % 3),
                "cancel": bool(i % 5),
                "category": f"{platform} {kind}",
            }
        )
    return json.dumps(rows)


@contextmanager
def serving(provider: Provider, body: str):
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, provider.api_url, body=body, content_type="application/json")
        yield


def make_provider(name: str) -> Provider:
    provider = Provider(name=name, api_url=f"https://{name.lower()}.bench.invalid/api/v2")
    provider.set_api_key("bench-key-0123456789")
    provider.save()
    return provider


def measure(action: Callable[[], object]) -> tuple[float, int, int]:
    """Seconds, queries, and queries that wrote to the service table."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
    writes = sum(
        1 for q in queries if "catalog_service" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    )
    return seconds, len(queries), writes


def line(label: str, value: str, goal: str, ok: bool) -> None:
    print(f"{'PASS' if ok else 'MISS'}  {label:<58} {value:>16}   goal {goal}")


def reset() -> None:
    ServicePriceChange.objects.all().delete()
    CatalogSync.objects.all().delete()
    Service.objects.all().delete()
    Provider.objects.filter(name__startswith="Bench").delete()


def bench_catalog_sync() -> None:
    reset()
    provider = make_provider("Bench0")
    body = services_answer(5_000)
    with serving(provider, body):
        seconds, queries, _ = measure(lambda: catalog_sync(provider=provider))
    line("catalog sync, 5,000 new services: time", f"{seconds * 1000:.0f} ms", "< 1000 ms", seconds < 1)
    line("catalog sync, 5,000 new services: queries", str(queries), "<= 20", queries <= 20)

    with serving(provider, body):
        seconds, queries, writes = measure(lambda: catalog_sync(provider=provider))
    line("re-sync, nothing changed: queries (incl. the run record)", str(queries), "<= 5", queries <= 5)
    line("re-sync, nothing changed: service rows written", str(writes), "0", writes == 0)
    line("re-sync, nothing changed: time", f"{seconds * 1000:.0f} ms", "(informative)", True)

    with serving(provider, services_answer(5_000, price_bump=1)):
        seconds, queries, _ = measure(lambda: catalog_sync(provider=provider))
    line("re-sync, every price changed: time", f"{seconds * 1000:.0f} ms", "< 1000 ms", seconds < 1)

    providers = [provider] + [make_provider(f"Bench{n}") for n in range(1, 10)]
    started = time.perf_counter()
    total_queries = 0
    for n, item in enumerate(providers):
        with serving(item, services_answer(5_000, offset=n * 100_000, price_bump=2)):
            _, queries, _ = measure(lambda item=item: catalog_sync(provider=item))
            total_queries += queries
    seconds = time.perf_counter() - started
    line("catalog sync, 50,000 services over 10 providers: time", f"{seconds:.2f} s", "< 5 s", seconds < 5)
    line("catalog sync, 50,000 services over 10 providers: queries", str(total_queries), "(informative)", True)


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"jappanel benchmarks on {connection.vendor} ({connection.settings_dict['NAME']})")
    bench_catalog_sync()


if __name__ == "__main__":
    main()
