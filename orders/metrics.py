"""The orders' share of /metrics: orders by status, read at each scrape."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from jappanel.metrics import gauges_register


def orders_by_status() -> Iterator[Metric]:
    from orders.models import Order

    orders = GaugeMetricFamily(
        "jappanel_orders", "Orders by status (watch the unconfirmed ones)", labels=["status"]
    )
    for status, count in Order.objects.values_list("status").annotate(n=Count("pk")).order_by():
        orders.add_metric([str(status)], count)
    yield orders


def metrics_connect() -> None:
    gauges_register(orders_by_status)
