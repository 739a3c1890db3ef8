from __future__ import annotations

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from celery.signals import worker_ready

        from catalog.tasks import catch_up_when_the_worker_starts, catch_up_with_a_configured_provider
        from providers.signals import provider_configured

        worker_ready.connect(catch_up_when_the_worker_starts, dispatch_uid="catalog_catch_up_on_start")
        provider_configured.connect(catch_up_with_a_configured_provider, dispatch_uid="catalog_catch_up")
