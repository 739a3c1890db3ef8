from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from catalog.models import CatalogSync
from catalog.services import SyncAlreadyRunning, catalog_sync
from providers.models import Provider

logger = logging.getLogger(__name__)


@shared_task
def sync_catalogs() -> None:
    """Periodic: queue one catalog sync per active provider.

    Each expires before the next round is due, so a backlog never turns into a pile of
    syncs of the same provider.
    """
    expires = settings.CATALOG_SYNC_INTERVAL_MINUTES * 60 * 0.9
    for provider_id in Provider.objects.filter(active=True).values_list("id", flat=True):
        sync_provider_catalog.apply_async((provider_id,), expires=expires)


@shared_task
def sync_provider_catalog(provider_id: int, run_id: int | None = None) -> None:
    """Sync one provider's catalog; `run_id` is a run already opened by "Sync now"."""
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is None:
        return
    run = CatalogSync.objects.filter(pk=run_id).first() if run_id else None
    try:
        report = catalog_sync(provider=provider, run=run)
    except SyncAlreadyRunning as exc:
        logger.info("%s", exc)
        return
    logger.info("catalog sync: %s", report.as_dict())
