from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvidersConfig(AppConfig):
    name = "providers"
    label = "providers"
    verbose_name = "Providers"

    def ready(self) -> None:
        from providers.metrics import metrics_connect
        from providers.services import bootstrap_after_migrate

        metrics_connect()
        post_migrate.connect(bootstrap_after_migrate, sender=self, dispatch_uid="providers_bootstrap")
