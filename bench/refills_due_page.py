"""The Refills due page with 1,000,000 orders, ~265,000 of them inside a refill guarantee.

Runs after bench.catalog_sync (its services). The orders are those of bench.orders_page, each
completed or partial one an hour after it was placed and guaranteed 30, 60 or 365 days (a
quarter none); a fifth of those inside their window were refilled in the last two weeks, one
in fifty has a refill pending. Each request goes through the whole Django stack (htmx, as a
filter change asks); the figure is the median of 20, first page / a page 90% down the list.
"""

from __future__ import annotations

import statistics

from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from bench.common import bench_user, line
from bench.orders_page import INSERT_SQL, ORDERS, PEOPLE, TABLES, timed
from jappanel.web.pagination import PAGE_SIZE, page_cursor
from orders.filters import refills_due_page

GOAL_MS = 100
DEEP = 0.9
HTMX = {"HX-Request": "true", "HX-Target": "due-table"}
COLUMNS = "submission_token, submit_attempts, created_at, status_changed_at, submitted_at, decline_reason"
VALUES = "'bench-' || i, 1, ts.at, ts.at, ts.at, ''"
# Completion an hour after placing; the guarantee by i: 30, 60 or 365 days, or none.
WINDOW_SQL = """, CASE WHEN st.status IN ('completed', 'partial') THEN ts.at + interval '1 hour' END,
  CASE WHEN st.status IN ('completed', 'partial') AND i %% 4 < 3
    THEN ts.at + interval '1 hour' + (ARRAY[30, 60, 365])[1 + i %% 4] * interval '1 day' END"""
REFILLS_SQL = """
INSERT INTO orders_refill (order_id, provider_refill_id, status, provider_status, error, requested_at,
  finished_at)
SELECT id, id, CASE WHEN id %% 50 = 0 THEN 'pending' ELSE 'completed' END, '', '',
  %s - (id %% 14) * interval '1 day', CASE WHEN id %% 50 = 0 THEN NULL ELSE %s END
FROM orders_order WHERE refill_until > %s AND (id %% 5 = 0 OR id %% 50 = 0)
"""


def populate() -> dict[str, str]:
    from django.contrib.auth import get_user_model

    for n in range(PEOPLE):
        get_user_model().objects.get_or_create(username=f"bench-person-{n}")
    assert COLUMNS in INSERT_SQL and VALUES in INSERT_SQL, "bench.orders_page's INSERT changed"
    insert = INSERT_SQL.replace(COLUMNS, COLUMNS + ", finished_at, refill_until").replace(
        VALUES, VALUES + WINDOW_SQL
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES}")
        cursor.execute(insert, [now])
        cursor.execute(REFILLS_SQL, [now, now, now])
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE orders_refill")
        cursor.execute("SELECT provider_id FROM orders_order WHERE refill_until > %s LIMIT 1", [now])
        provider = cursor.fetchone()[0]
    return {
        "no filter": "",
        f"provider {provider}": f"provider={provider}",
        "platform instagram": "platform=instagram",
        "not refilled in 1 day": "days=1",
        "not refilled in 30 days": "days=30",
    }


def deep_cursor(query: str) -> str | None:
    filterset, page = refills_due_page(QueryDict(query))
    depth = int(page.count * DEEP)
    if depth < PAGE_SIZE:
        return None
    row = filterset.qs.order_by("refill_until", "pk")[depth : depth + 1].get()
    return page_cursor(row, "refill_until")


def run() -> None:
    filters = populate()
    client = Client()
    client.force_login(bench_user("Manager"))
    _, due = refills_due_page(QueryDict(""))
    estimated = "≈ " if due.estimated else ""
    line(f"refills due page: {ORDERS:,} orders, due now", f"{estimated}{due.count:,}", "setup", True)
    for label, query in filters.items():
        pages = {"first": f"/orders/refills/due/?{query}"}
        if cursor := deep_cursor(query):
            pages["deep"] = f"/orders/refills/due/?{query}&later={cursor}".replace("?&", "?")
        figures, counts = [], set()
        for url in pages.values():
            timed(client, url, HTMX)  # warm caches and templates
            samples = [timed(client, url, HTMX) for _ in range(20)]
            figures.append(statistics.median(s for s, _ in samples) * 1000)
            counts |= {count for _, count in samples}
        line(
            f"refills due page, 1M orders: {label}",
            " / ".join(f"{ms:.0f}" for ms in figures) + f" ms, {max(counts)} q",
            f"< {GOAL_MS} ms, same q",
            max(figures) < GOAL_MS and len(counts) == 1,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES}")
