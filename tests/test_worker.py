"""Background work through a real Celery worker on the configured broker (Redis in CI)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from catalog.models import CatalogSync, Service
from catalog.services import catalog_sync_request
from providers.models import Provider
from providers.tasks import refresh_balances
from tests.waiting import wait_for

pytestmark = pytest.mark.worker


def test_the_worker_reads_the_sandbox_balance_through_the_broker(celery_worker):
    sandbox = Provider.objects.get(name="Sandbox")
    assert sandbox.balance is None
    refresh_balances.delay()
    provider = wait_for(lambda: Provider.objects.filter(pk=sandbox.pk, balance__isnull=False).first())
    assert provider.balance == Decimal("1000")
    assert provider.currency == "USD"


def test_sync_now_runs_in_the_worker_and_reports_its_result(celery_worker):
    sandbox = Provider.objects.get(name="Sandbox")
    with transaction.atomic():
        (run,) = catalog_sync_request(providers=[sandbox])
    assert run.status == CatalogSync.Status.RUNNING
    finished = wait_for(lambda: CatalogSync.objects.filter(pk=run.pk).exclude(status="running").first())
    assert finished.status == CatalogSync.Status.OK, finished.message
    assert finished.added >= 200
    assert Service.objects.filter(provider=sandbox, active=True).count() == finished.added
