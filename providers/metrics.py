"""The providers' share of /metrics: calls to the panels as they happen, balances at each scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from jappanel.metrics import gauges_register, provider_call_observe
from providers.client.signals import call_finished


def provider_balances() -> Iterator[Metric]:
    from providers.models import Provider

    balance = GaugeMetricFamily(
        "jappanel_provider_balance", "Last known balance of each provider", labels=["provider", "currency"]
    )
    for name, currency, amount in Provider.objects.filter(balance__isnull=False).values_list(
        "name", "currency", "balance"
    ):
        balance.add_metric([name, currency], float(amount))
    yield balance


def metrics_connect() -> None:
    call_finished.connect(provider_call_observe, dispatch_uid="jappanel_metrics_calls")
    gauges_register(provider_balances)
