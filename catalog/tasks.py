from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from catalog.models import CatalogSync
from catalog.services import SyncAlreadyRunning, catalog_stale_providers, catalog_sync, catalog_sync_request
from providers.client import ProviderError
from providers.models import Provider
from providers.services import provider_refresh_balance

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


@shared_task
def providers_catch_up(provider_ids: list[int] | None = None) -> None:
    """Bring providers up to date at once rather than at the scheduler's next round: sync every
    stale catalog (opening its run first, so the catalog page shows the progress) and read every
    balance. All active providers by default."""
    providers = Provider.objects.filter(active=True)
    if provider_ids is not None:
        providers = providers.filter(pk__in=provider_ids)
    providers = list(providers)
    stale = catalog_stale_providers(providers=providers)
    if stale:
        catalog_sync_request(providers=stale)
    for provider in providers:
        try:
            provider_refresh_balance(provider=provider)
        except ProviderError as exc:
            logger.warning("provider %s: balance not read: %s", provider.name, exc)


def consumes_default_queue(app: Any) -> bool:
    """Whether a worker of `app` takes tasks from the default queue (where the catch-up runs)."""
    consumed = set(app.amqp.queues.consume_from or ())
    return not consumed or app.conf.task_default_queue in consumed


def catch_up_when_the_worker_starts(sender: Any = None, **kwargs: Any) -> None:
    """`worker_ready` receiver: a fresh deployment shows its catalog and balances within seconds.

    Only a worker that consumes the default queue sends it: the interactive worker starting
    beside it would only send the same work twice.
    """
    if sender is None or consumes_default_queue(sender.app):
        providers_catch_up.delay()


def catch_up_with_a_configured_provider(*, provider_id: int, **kwargs: Any) -> None:
    """`provider_configured` receiver: a provider added, re-enabled or re-pointed is read at once."""
    providers_catch_up.delay([provider_id])
