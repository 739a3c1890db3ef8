"""The orders page with 1,000,000 orders: every default filter, first and deep page, server time.

Runs after bench.catalog_sync (its 50,000 services over 10 providers). The orders are made by
one `INSERT … SELECT generate_series` (~10 s), over a year, with a realistic mix of statuses;
they are truncated again at the end. Each request goes through the whole Django stack with
the test client (htmx, as a filter change asks); the figure is the median of 20.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.common import bench_user, line
from jappanel.web.pagination import PAGE_SIZE, page_cursor
from orders.filters import order_page
from orders.models import Order

ORDERS = 1_000_000
SERVICES = 500
PEOPLE = 5
GOAL_MS = 100
DEEP = 0.9  # how far down the filtered list the deep page starts
HTMX = {"HX-Request": "true", "HX-Target": "order-table"}
TABLES = "orders_orderevent, orders_refill, orders_cancelrequest, orders_order"

# Per 1000 orders: completed 800, partial 50, canceled 30, rejected 20, then the open ones.
STATUS_SQL = """CASE
  WHEN i %% 1000 < 800 THEN 'completed' WHEN i %% 1000 < 850 THEN 'partial'
  WHEN i %% 1000 < 880 THEN 'canceled' WHEN i %% 1000 < 900 THEN 'rejected'
  WHEN i %% 1000 < 950 THEN 'in_progress' WHEN i %% 1000 < 998 THEN 'pending'
  WHEN i %% 1000 = 998 THEN 'queued' ELSE 'unconfirmed' END"""
# i = 1 is the newest order; one every ~31 seconds over a year.
INSERT_SQL = f"""
WITH s AS (
  SELECT id, provider_id, platform, row_number() OVER (ORDER BY id) - 1 AS k
  FROM catalog_service WHERE active ORDER BY id LIMIT {SERVICES}
), people AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user WHERE username LIKE 'bench-person-%%')
INSERT INTO orders_order (
  code, provider_id, service_id, user_id, link, quantity, comments, usernames, hashtags, hashtag,
  username, media, groups, keywords, extra, estimated_charge, charge, currency, status,
  provider_status, provider_order_id, start_count, remains, last_error, needs_attention,
  submission_token, submit_attempts, created_at, status_changed_at, submitted_at, decline_reason
)
SELECT
  translate(lpad(i::text, 10, '0'), '0123456789', '23456789AB'),
  s.provider_id, s.id, people.ids[1 + i %% {PEOPLE}],
  'https://' || s.platform || '.com/p/bench' || i, 100 + i %% 900, '', '', '', '', '', '', '', '',
  '{{}}', 0.5, 0.5, 'USD', st.status, '', 9000000000 + i, 1000, 0, '', st.status = 'unconfirmed',
  'bench-' || i, 1, ts.at, ts.at, ts.at, ''
FROM generate_series(1, {ORDERS}) AS i
JOIN s ON s.k = i %% {SERVICES}
CROSS JOIN people
CROSS JOIN LATERAL (SELECT {STATUS_SQL} AS status) st
CROSS JOIN LATERAL (SELECT %s - (i * interval '31.5 seconds') AS at) ts
"""


def timed(client: Client, url: str, headers: dict[str, str] = HTMX) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed, len(queries)


def populate() -> tuple[dict[str, str], int]:
    """The orders, and the query strings of the default filters (each matching some of them)."""
    users = get_user_model().objects
    for n in range(PEOPLE):
        users.get_or_create(username=f"bench-person-{n}")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES} CASCADE")
        cursor.execute(INSERT_SQL, [timezone.now()])
        cursor.execute("VACUUM ANALYZE orders_order")
    seconds = time.perf_counter() - started
    sample = Order.objects.select_related("service").get(code="2222223AB2")  # order 1,890
    today = timezone.localdate()
    filters = {
        "no filter": "",
        "status open": "status=open",
        "status needs attention": "status=attention",
        "status completed": "status=completed",
        "status partial": "status=partial",
        "platform instagram": "platform=instagram",
        f"provider {sample.provider_id}": f"provider={sample.provider_id}",
        "person": f"person={sample.user_id}",
        "service id": f"service={sample.service.service_id}",
        "date range (a month)": f"since={today - timedelta(days=60)}&until={today - timedelta(days=30)}",
        "search order code": f"q={sample.code}",
        "search provider id": f"q={sample.provider_order_id}",
        "search link (one match)": "q=bench1890",
    }
    return filters, seconds


def deep_cursor(query: str) -> str | None:
    """The `older` cursor DEEP down the filtered list (found once, outside the timing)."""
    filterset, page = order_page(QueryDict(query))
    depth = int(page.count * DEEP)
    if depth < PAGE_SIZE:
        return None
    row = filterset.qs.order_by("-created_at", "-pk")[depth : depth + 1].get()
    return page_cursor(row, "created_at")


def run() -> None:
    filters, seconds = populate()
    line(
        f"orders page: {ORDERS:,} orders written (INSERT … SELECT generate_series)",
        f"{seconds:.1f} s",
        "setup",
        True,
    )
    user = bench_user("Manager")
    client = Client()
    client.force_login(user)
    for label, query in filters.items():
        cursor = deep_cursor(query)
        pages = {"first": f"/orders/?{query}"}
        if cursor:
            pages["deep"] = f"/orders/?{query}&older={cursor}".replace("?&", "?")
        counts = set()
        figures = []
        for name, url in pages.items():
            timed(client, url)  # warm caches and templates
            samples = [timed(client, url) for _ in range(20)]
            figures.append((name, statistics.median(s for s, _ in samples) * 1000))
            counts |= {count for _, count in samples}
        worst = max(ms for _, ms in figures)
        line(
            f"orders page, 1M orders: {label}",
            " / ".join(f"{ms:.0f}" for _, ms in figures) + f" ms, {max(counts)} q",  # first / deep
            f"< {GOAL_MS} ms, same q",
            worst < GOAL_MS and len(counts) == 1,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES} CASCADE")
