from __future__ import annotations

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from catalog.signals import refill_period_corrected
        from orders.metrics import metrics_connect
        from orders.services.guarantees import refill_windows_follow

        metrics_connect()
        refill_period_corrected.connect(refill_windows_follow, dispatch_uid="orders_refill_windows")
