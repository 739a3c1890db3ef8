"""The reports page over 1,000,000 orders: this month's report by each grouping, and its CSV.

Runs after bench.catalog_sync (its services); makes the orders as bench.orders_page does, then
puts 20 of every 21 orders in one of 20 campaigns (the rest have none). Each request goes through
the whole Django stack with the test client (htmx, as bench.orders_page sends it); the figure is the
median of 10.
"""

from __future__ import annotations

import statistics
from decimal import Decimal

from django.db import connection
from django.test import Client

from bench.common import bench_user, line
from bench.orders_page import ORDERS, TABLES, populate, timed
from team.models import Campaign

CAMPAIGNS = 20
GOAL_MS = 300


def run() -> None:
    populate()
    Campaign.objects.filter(name__startswith="bench-campaign-").delete()
    campaigns = [
        Campaign.objects.create(name=f"bench-campaign-{n}", monthly_budget=Decimal(50_000))
        for n in range(CAMPAIGNS)
    ]
    ids = [campaign.pk for campaign in campaigns]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_order SET campaign_id = (%s::bigint[])[1 + id %% %s] WHERE id %% %s <> 0",
            [ids, CAMPAIGNS, CAMPAIGNS + 1],
        )
        cursor.execute("VACUUM ANALYZE orders_order")
    client = Client()
    client.force_login(bench_user("Viewer"))
    pages = {
        f"by {group}": f"/reports/?group={group}" for group in ("campaign", "person", "provider", "platform")
    }
    pages["by category"] = "/reports/?group=category"
    pages["CSV by campaign"] = "/reports/export.csv"
    for label, url in pages.items():
        timed(client, url)  # warm caches and templates
        samples = [timed(client, url) for _ in range(10)]
        ms = statistics.median(seconds for seconds, _ in samples) * 1000
        queries = max(count for _, count in samples)
        line(
            f"reports page, {ORDERS // 1_000_000}M orders, this month {label}",
            f"{ms:.0f} ms, {queries} q",
            f"< {GOAL_MS} ms",
            ms < GOAL_MS,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES} CASCADE")
    Campaign.objects.filter(pk__in=ids).delete()
