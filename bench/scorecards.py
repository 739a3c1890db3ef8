"""Scorecards at 50,000 services and 1,000,000 orders: the refresh, and the catalog page with its
Reliability column and sort; then the Catalog changes page over 200,000 change events.

Needs the 50,000 services bench.catalog_sync leaves (it runs it first when they are missing). The
orders are made by one `INSERT … SELECT generate_series`, over the last 120 days (so the 90-day
cards read three quarters of them), spread over 5,000 services with a realistic mix of outcomes,
start and finish times, and 50,000 refills; everything is truncated again at the end. Each page
request goes through the whole Django stack with the test client; the figure is the median of 20.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import catalog_sync
from bench.common import bench_user, line
from bench.orders_page import TABLES
from catalog.models import Scorecard, Service
from orders.services.scorecards import scorecards_refresh

ORDERS = 1_000_000
SERVICES = 5_000
REFILLS = 50_000
CHANGES = 200_000
DAYS = 120
REFRESH_GOAL_S = 30
HTMX = {"HX-Request": "true"}
CHANGES_HTMX = {"HX-Request": "true", "HX-Target": "change-table"}
PAGE_GOAL_MS = 100

# Per 1000 orders: completed 800, partial 50, canceled 30, rejected 20, unconfirmed 2, the rest open.
STATUS_SQL = """CASE
  WHEN i %% 1000 < 800 THEN 'completed' WHEN i %% 1000 < 850 THEN 'partial'
  WHEN i %% 1000 < 880 THEN 'canceled' WHEN i %% 1000 < 900 THEN 'rejected'
  WHEN i %% 1000 < 902 THEN 'unconfirmed' WHEN i %% 1000 < 950 THEN 'in_progress' ELSE 'pending' END"""
# Services are taken in a scattered order (every 7th), so that ordered ones sit all over the catalog.
INSERT_ORDERS = f"""
WITH s AS (
  SELECT id, provider_id, row_number() OVER (ORDER BY (id * 7) %% 50021, id) - 1 AS k
  FROM catalog_service WHERE active ORDER BY (id * 7) %% 50021, id LIMIT {SERVICES}
)
INSERT INTO orders_order (
  code, provider_id, service_id, link, quantity, comments, usernames, hashtags, hashtag, username, media,
  groups, keywords, extra, estimated_charge, charge, currency, status, provider_status, provider_order_id,
  start_count, remains, last_error, needs_attention, submission_token, submit_attempts, created_at,
  status_changed_at, submitted_at, started_at, finished_at, decline_reason
)
SELECT
  translate(lpad(i::text, 10, '0'), '0123456789', '23456789AB'), s.provider_id, s.id,
  'https://instagram.com/p/bench' || i, 1000, '', '', '', '', '', '', '', '', '{{}}', 0.5, 0.5, 'USD',
  st.status, '', CASE WHEN st.status = 'rejected' THEN NULL ELSE 9000000000 + i END, 0,
  CASE st.status WHEN 'partial' THEN 100 + i %% 500 WHEN 'canceled' THEN 1000 ELSE 0 END, '', false,
  'bench-' || i, 1, ts.at, ts.at, CASE WHEN st.status = 'rejected' THEN NULL ELSE ts.at END,
  CASE WHEN st.status IN ('completed', 'partial', 'in_progress')
       THEN ts.at + (i %% 7200) * interval '1 second' END,
  CASE WHEN st.status IN ('completed', 'partial', 'canceled', 'rejected')
       THEN ts.at + (7200 + i %% 172800) * interval '1 second' END,
  ''
FROM generate_series(1, {ORDERS}) AS i
JOIN s ON s.k = (i * 31) %% {SERVICES}
CROSS JOIN LATERAL (SELECT {STATUS_SQL} AS status) st
CROSS JOIN LATERAL (SELECT %s - (i * interval '{DAYS * 86400 / ORDERS} seconds') AS at) ts
"""
# Run without parameters: a single % is the modulo here.
INSERT_REFILLS = f"""
INSERT INTO orders_refill (order_id, provider_refill_id, status, provider_status, error, requested_at)
SELECT o.id, o.id, CASE WHEN o.id % 10 < 8 THEN 'completed' WHEN o.id % 10 = 8 THEN 'rejected'
  ELSE 'pending' END, '', '', o.created_at + interval '2 days'
FROM orders_order o WHERE o.status = 'completed' AND o.id % 16 = 0 LIMIT {REFILLS}
"""
INSERT_CHANGES = f"""
INSERT INTO catalog_catalogchange (provider_id, service_id, at, kind, old_value, new_value, percent)
SELECT s.provider_id, s.id, %s - (i * interval '{30 * 86400 / CHANGES} seconds'),
  CASE WHEN i %% 3 = 0 THEN 'rate_down' ELSE 'rate_up' END, '1.00000', '1.10000', 10.0
FROM generate_series(1, {CHANGES}) AS i
JOIN catalog_service s ON s.id = (SELECT min(id) FROM catalog_service) + i %% 50000
"""


def populate() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES}, catalog_scorecard, catalog_catalogchange CASCADE")
        cursor.execute("UPDATE catalog_service SET reliability = NULL WHERE reliability IS NOT NULL")
        cursor.execute(INSERT_ORDERS, [timezone.now()])
        cursor.execute(INSERT_REFILLS)
        cursor.execute(INSERT_CHANGES, [timezone.now()])
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE orders_refill")
        cursor.execute("VACUUM ANALYZE catalog_catalogchange")
    return time.perf_counter() - started


def median_ms(client: Client, url: str, headers: dict[str, str]) -> tuple[float, int]:
    """The median server time of 20 requests (after one to warm up), and the most queries one made."""

    def once() -> tuple[float, int]:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, len(queries)

    once()
    samples = [once() for _ in range(20)]
    return statistics.median(seconds for seconds, _ in samples) * 1000, max(count for _, count in samples)


def run() -> None:
    if Service.objects.filter(active=True).count() < 50_000:
        catalog_sync.run()
    seconds = populate()
    line(
        f"scorecards: {ORDERS:,} orders over {DAYS} days, {REFILLS:,} refills, {CHANGES:,} changes written",
        f"{seconds:.1f} s",
        "setup",
        True,
    )
    report = scorecards_refresh()
    line(
        f"scorecards refresh, {ORDERS // 1_000_000}M orders ({report.services:,} services, "
        f"{report.providers} providers)",
        f"{report.seconds:.1f} s",
        f"< {REFRESH_GOAL_S} s",
        report.seconds < REFRESH_GOAL_S,
    )
    again = scorecards_refresh()
    line(
        "scorecards refresh again (nothing changed: no service row written)",
        f"{again.seconds:.1f} s, {again.reliability_changed} rows",
        f"< {REFRESH_GOAL_S} s, 0 rows",
        again.seconds < REFRESH_GOAL_S and again.reliability_changed == 0,
    )
    judged = Service.objects.filter(reliability__isnull=False).count()
    line("services with a reliability (30 days, 10 orders or more)", f"{judged:,}", "(informative)", True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE catalog_service")
        cursor.execute("VACUUM ANALYZE catalog_scorecard")

    client = Client()
    client.force_login(bench_user("Buyer"))
    pages = {
        "default sort, with the column": "/services/",
        "sort by reliability": "/services/?sort=reliability",
        "sort by reliability, page 40": "/services/?sort=reliability&page=40",
        "sort by reliability + platform, refill": "/services/?sort=reliability&platform=instagram&refill=1",
        "sort by reliability + search": "/services/?sort=reliability&q=followers",
    }
    for label, url in pages.items():
        ms, queries = median_ms(client, url, HTMX)
        line(
            f"catalog page, 50k services, 1M orders: {label}",
            f"{ms:.1f} ms, {queries} q",
            f"< {PAGE_GOAL_MS} ms",
            ms < PAGE_GOAL_MS,
        )
    card = Scorecard.objects.filter(service__isnull=False, days=30).order_by("pk").first()
    ms, queries = median_ms(client, f"/services/{card.service_id}/", HTMX)
    line(
        "service panel with its record",
        f"{ms:.1f} ms, {queries} q",
        f"< {PAGE_GOAL_MS} ms",
        ms < PAGE_GOAL_MS,
    )

    changes = {
        "last 7 days": ("/services/changes/", CHANGES_HTMX),
        "last 30 days, rate up": ("/services/changes/?since=30&kind=rate_up", CHANGES_HTMX),
        "full page, last 30 days": ("/services/changes/?since=30", {}),
    }
    for label, (url, headers) in changes.items():
        ms, queries = median_ms(client, url, headers)
        line(
            f"catalog changes page, {CHANGES // 1000}k changes: {label}",
            f"{ms:.1f} ms, {queries} q",
            f"< {PAGE_GOAL_MS} ms",
            ms < PAGE_GOAL_MS,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES}, catalog_scorecard, catalog_catalogchange CASCADE")
        cursor.execute("UPDATE catalog_service SET reliability = NULL WHERE reliability IS NOT NULL")
