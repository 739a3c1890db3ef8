from __future__ import annotations

from django.apps import AppConfig


class JappanelConfig(AppConfig):
    name = "jappanel"
    verbose_name = "jappanel"

    def ready(self) -> None:
        from jappanel.metrics import connect_metrics

        connect_metrics()
