from __future__ import annotations

import logging

from celery import shared_task

from providers.client import ProviderError
from providers.models import Provider
from providers.services import provider_balance_read_soon, provider_refresh_balance

logger = logging.getLogger(__name__)


@shared_task
def refresh_balances() -> None:
    """Read the balance of every active provider; one failing panel does not stop the others.

    No retries: the next scheduled run is the retry.
    """
    for provider in Provider.objects.filter(active=True):
        try:
            provider_refresh_balance(provider=provider)
        except ProviderError as exc:
            logger.warning("provider %s: balance not refreshed: %s", provider.name, exc)


@shared_task
def read_balance_soon(provider_id: int) -> None:
    """Read a provider's balance after a batch of orders, unless read since (BALANCE_EVERY)."""
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is not None:
        provider_balance_read_soon(provider=provider)
