from __future__ import annotations

import logging

from celery import shared_task

from providers.client import ProviderError
from providers.models import Provider
from providers.services import provider_refresh_balance

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
