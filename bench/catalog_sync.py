"""Catalog sync: 5,000 services, an unchanged re-sync, and 50,000 services over 10 providers."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from bench.common import line, make_provider, measure, serving
from catalog.models import CatalogSync, Service, ServicePriceChange
from catalog.services import catalog_sync
from providers.models import Provider

PLATFORMS = [
    "Instagram",
    "YouTube",
    "TikTok",
    "Facebook",
    "Telegram",
    "Twitter",
    "Spotify",
    "Website Traffic",
]
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


def reset() -> None:
    ServicePriceChange.objects.all().delete()
    CatalogSync.objects.all().delete()
    Service.objects.all().delete()
    Provider.objects.filter(name__startswith="Bench").delete()


def run() -> None:
    reset()
    provider = make_provider("Bench0")
    body = services_answer(5_000)
    with serving(provider, body):
        seconds, queries, _ = measure(lambda: catalog_sync(provider=provider), "catalog_service")
    line("catalog sync, 5,000 new services: time", f"{seconds * 1000:.0f} ms", "< 1000 ms", seconds < 1)
    line("catalog sync, 5,000 new services: queries", str(queries), "<= 20", queries <= 20)

    with serving(provider, body):
        seconds, queries, writes = measure(lambda: catalog_sync(provider=provider), "catalog_service")
    # The run record, the read of the catalog, and the call slot taken and given back (pace).
    line("re-sync, nothing changed: queries (incl. the run record)", str(queries), "<= 7", queries <= 7)
    line("re-sync, nothing changed: service rows written", str(writes), "0", writes == 0)
    line("re-sync, nothing changed: time", f"{seconds * 1000:.0f} ms", "(informative)", True)

    with serving(provider, services_answer(5_000, price_bump=1)):
        seconds, queries, _ = measure(lambda: catalog_sync(provider=provider), "catalog_service")
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
    line(
        "catalog sync, 50,000 services over 10 providers: queries", str(total_queries), "(informative)", True
    )
