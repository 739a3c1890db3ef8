"""A fresh deployment fills its catalog and reads its balances at once, not at the scheduler's next round."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from celery import Celery
from celery.signals import worker_ready
from django.utils import timezone

from catalog.models import CatalogSync, Service
from catalog.services import catalog_stale_providers
from catalog.tasks import consumes_default_queue
from providers.models import Provider
from providers.services import provider_save
from tests.factories import CatalogSyncFactory, ProviderFactory
from tests.waiting import wait_for


def synced(provider: Provider, *, ago: timedelta) -> CatalogSync:
    started = timezone.now() - ago
    return CatalogSyncFactory(provider=provider, status=CatalogSync.Status.OK, started_at=started)


def test_a_catalog_is_stale_when_never_synced_changed_since_or_older_than_its_interval(no_sandbox, settings):
    settings.CATALOG_SYNC_INTERVAL_MINUTES = 60
    ProviderFactory(name="Never")
    fresh = ProviderFactory(name="Fresh")
    old = ProviderFactory(name="Old")
    changed = ProviderFactory(name="Changed")
    failed_only = ProviderFactory(name="Failed")
    Provider.objects.update(updated_at=timezone.now() - timedelta(minutes=10))
    synced(fresh, ago=timedelta(minutes=5))
    synced(old, ago=timedelta(minutes=61))
    synced(changed, ago=timedelta(minutes=5))
    Provider.objects.filter(pk=changed.pk).update(updated_at=timezone.now())
    CatalogSyncFactory(provider=failed_only, status=CatalogSync.Status.FAILED)
    providers = Provider.objects.order_by("name")
    stale = {provider.name for provider in catalog_stale_providers(providers=providers)}
    assert stale == {"Never", "Old", "Changed", "Failed"}


@pytest.mark.worker
def test_when_the_worker_starts_it_syncs_a_catalog_never_synced_and_reads_every_balance(celery_worker):
    sandbox = Provider.objects.get(name="Sandbox")
    assert sandbox.balance is None and not CatalogSync.objects.exists()
    worker_ready.send(sender=None)
    run = wait_for(lambda: CatalogSync.objects.filter(provider=sandbox, status=CatalogSync.Status.OK).first())
    assert run.added >= 200
    assert Service.objects.filter(provider=sandbox, active=True).count() == run.added
    provider = wait_for(lambda: Provider.objects.filter(pk=sandbox.pk, balance__isnull=False).first())
    assert provider.balance == Decimal("1000")


@pytest.mark.worker
def test_a_freshly_synced_catalog_is_not_synced_again_when_the_worker_restarts(celery_worker):
    sandbox = Provider.objects.get(name="Sandbox")
    synced(sandbox, ago=timedelta(minutes=1))
    Provider.objects.filter(pk=sandbox.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    worker_ready.send(sender=None)
    wait_for(lambda: Provider.objects.filter(pk=sandbox.pk, balance__isnull=False).exists())
    assert CatalogSync.objects.filter(provider=sandbox).count() == 1


@pytest.mark.worker
@pytest.mark.parametrize("change", ["added", "re-enabled", "new key"])
def test_a_provider_added_re_enabled_or_given_a_new_key_is_synced_and_read_at_once(
    change, celery_worker, admin_user, settings, django_capture_on_commit_callbacks
):
    sandbox = Provider.objects.get(name="Sandbox")
    if change == "added":
        Provider.objects.filter(pk=sandbox.pk).delete()
        provider = Provider(name="Second sandbox", api_url=sandbox.api_url)
        key = settings.SANDBOX_API_KEY
    else:
        synced(sandbox, ago=timedelta(minutes=1))
        Provider.objects.filter(pk=sandbox.pk).update(
            active=change != "re-enabled", updated_at=timezone.now() - timedelta(minutes=2)
        )
        provider = Provider.objects.get(pk=sandbox.pk)
        provider.active = True
        key = settings.SANDBOX_API_KEY if change == "new key" else ""
    before = CatalogSync.objects.order_by("pk").values_list("pk", flat=True).last() or 0
    with django_capture_on_commit_callbacks(execute=True):
        provider = provider_save(provider=provider, api_key=key, user=admin_user, ip=None)
    wait_for(lambda: Provider.objects.filter(pk=provider.pk, balance__isnull=False).exists())
    runs = CatalogSync.objects.filter(provider=provider, pk__gt=before)
    run = wait_for(lambda: runs.exclude(status=CatalogSync.Status.RUNNING).first())
    assert run.status == CatalogSync.Status.OK, run.message


def test_an_unchanged_provider_saved_again_is_not_synced_again(
    admin_user, django_capture_on_commit_callbacks
):
    sandbox = Provider.objects.get(name="Sandbox")
    sandbox.currency = "USD"
    with django_capture_on_commit_callbacks() as callbacks:
        provider_save(provider=sandbox, user=admin_user, ip=None)
    assert callbacks == []


def test_only_a_worker_taking_the_default_queue_sends_the_catch_up():
    both, interactive_only, unrestricted = (Celery("probe", set_as_current=False) for _ in range(3))
    both.amqp.queues.select(["interactive", "celery"])
    interactive_only.amqp.queues.select(["interactive"])
    assert consumes_default_queue(both) and consumes_default_queue(unrestricted)
    assert not consumes_default_queue(interactive_only)
