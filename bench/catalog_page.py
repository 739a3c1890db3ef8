"""The catalog page with 50,000 active services: search and filters, server time per request.

Runs after bench.catalog_sync, which leaves 50,000 services over 10 providers. Each request
goes through the whole Django stack (middleware, view, query, template) with the test client;
the figure is the median of 20.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.common import bench_user, line
from catalog.models import Service

REQUESTS = {
    "search 'tiktok likes'": "?q=tiktok+likes",
    "search by id '#100123'": "?q=%23100123",
    "filter platform + refill": "?platform=instagram&refill=true",
    "filter category, sort rate desc": "?category=YouTube+Views&sort=-rate",
    "sort by name": "?sort=name",
    "search + cancel + quantity 1000": "?q=followers&cancel=true&quantity=1000",
}
GOAL_MS = 50


def timed(client: Client, url: str, htmx: bool) -> tuple[float, int]:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed, len(queries)


def run() -> None:
    active = Service.objects.filter(active=True).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE catalog_service")
    user = bench_user("Buyer")
    client = Client()
    client.force_login(user)
    for label, query in REQUESTS.items():
        url = "/services/" + query
        timed(client, url, htmx=True)  # warm caches and templates
        samples = [timed(client, url, htmx=True) for _ in range(20)]
        median_ms = statistics.median(seconds for seconds, _ in samples) * 1000
        counts = {count for _, count in samples}
        line(
            f"catalog page, {active // 1000}k services, htmx: {label}",
            f"{median_ms:.1f} ms, {max(counts)} q",
            f"< {GOAL_MS} ms",
            median_ms < GOAL_MS,
        )
    full = [timed(client, "/services/?q=instagram+followers", htmx=False) for _ in range(20)]
    median_ms = statistics.median(seconds for seconds, _ in full) * 1000
    line(
        "catalog page, full page load: search",
        f"{median_ms:.1f} ms, {full[0][1]} q",
        f"< {GOAL_MS} ms",
        median_ms < GOAL_MS,
    )
    sizes = {size: timed(client, f"/services/?per_page={size}", htmx=True)[1] for size in (25, 100)}
    line(
        "catalog page: queries at page size 25 and 100",
        f"{sizes[25]} / {sizes[100]}",
        "equal",
        sizes[25] == sizes[100],
    )
