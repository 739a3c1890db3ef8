from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvidersConfig(AppConfig):
    name = "jappanel.providers"
    label = "providers"
    verbose_name = "Providers"

    def ready(self) -> None:
        from jappanel.providers.services import bootstrap_after_migrate

        post_migrate.connect(bootstrap_after_migrate, sender=self, dispatch_uid="providers_bootstrap")
