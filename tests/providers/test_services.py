"""Bootstrap from the environment, balance refresh and the refresh task."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from django.core.management.sql import emit_post_migrate_signal

from audit.models import AuditAction, AuditEntry
from providers.client import ProviderError, ProviderRejected, ProviderUnreachable
from providers.models import Provider
from providers.sandbox.models import Account
from providers.sandbox.services import account_authenticate, sandbox_account_get
from providers.services import provider_bootstrap, provider_refresh_balance, provider_save
from providers.tasks import refresh_balances
from tests.providers.conftest import API_KEY, API_URL


@pytest.fixture
def no_providers(db) -> None:
    Provider.objects.all().delete()


def test_a_jap_key_in_the_environment_creates_the_jap_provider(no_providers, settings, panel):
    settings.JAP_API_KEY = API_KEY
    settings.JAP_API_URL = API_URL
    provider = provider_bootstrap()
    assert (provider.name, provider.api_url, provider.active) == ("JAP", API_URL, True)
    panel.post(API_URL, json={"balance": "1.00", "currency": "USD"})
    Provider.objects.get(name="JAP").client().balance()
    assert f"key={API_KEY}" in panel.calls[0].request.body


def test_a_changed_jap_key_or_url_updates_the_provider_and_an_unchanged_one_is_left_alone(
    no_providers, settings
):
    settings.JAP_API_KEY = API_KEY
    first = provider_bootstrap()
    assert provider_bootstrap().updated_at == first.updated_at
    settings.JAP_API_KEY = "fedcba9876543210fedcba9876543210"
    settings.JAP_API_URL = "https://mirror.example/api/v2"
    provider_bootstrap()
    provider = Provider.objects.get(name="JAP")
    assert provider.api_url == "https://mirror.example/api/v2"
    assert provider.masked_api_key == "••••3210"
    assert Provider.objects.count() == 1


def test_without_a_jap_key_the_sandbox_provider_is_created(no_providers, settings):
    settings.JAP_API_KEY = ""
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_API_KEY = "sandbox-secret-key"
    provider = provider_bootstrap()
    assert (provider.name, provider.api_url) == ("Sandbox", "sandbox://local/api/v2")
    assert provider.client()._api_key == "sandbox-secret-key"


def test_a_switched_off_sandbox_deactivates_its_provider(no_providers, settings):
    settings.JAP_API_KEY = ""
    provider_bootstrap()
    settings.SANDBOX_ENABLED = False
    assert provider_bootstrap() is None
    assert not Provider.objects.get(name="Sandbox").active


def test_a_real_provider_in_the_environment_switches_the_sandbox_provider_off(db, settings):
    settings.JAP_API_KEY = API_KEY
    assert Provider.objects.get(name="Sandbox").active
    assert provider_bootstrap().name == "JAP"
    assert not Provider.objects.get(name="Sandbox").active
    entry = AuditEntry.objects.get(action=AuditAction.PROVIDER_CHANGED, target_label="Sandbox")
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})
    assert entry.note == "Switched off: a real provider is active."


def test_a_real_provider_saved_by_a_person_switches_the_sandbox_provider_off(admin_user):
    real = Provider(name="Panel", api_url=API_URL)
    provider_save(provider=real, api_key=API_KEY, user=admin_user, ip="192.0.2.1")
    assert not Provider.objects.get(name="Sandbox").active
    entry = AuditEntry.objects.get(action=AuditAction.PROVIDER_CHANGED, target_label="Sandbox")
    assert (entry.actor, entry.ip) == (admin_user, "192.0.2.1")
    assert entry.note == "Switched off: the real provider Panel is configured."
    # A person may switch the sandbox back on (for a training session, say): editing the real
    # provider leaves it on; switching a real provider on again takes it off.
    sandbox = Provider.objects.get(name="Sandbox")
    sandbox.active = True
    provider_save(provider=sandbox, user=admin_user, ip=None)
    real.currency = "EUR"
    provider_save(provider=real, user=admin_user, ip=None)
    assert Provider.objects.get(name="Sandbox").active
    real.active = False
    provider_save(provider=real, user=admin_user, ip=None)
    real.active = True
    provider_save(provider=real, user=admin_user, ip=None)
    assert not Provider.objects.get(name="Sandbox").active


def test_start_up_does_not_switch_the_sandbox_provider_back_on_beside_an_active_real_one(db, settings):
    settings.JAP_API_KEY = ""
    real = Provider(name="Panel", api_url=API_URL)
    real.set_api_key(API_KEY)
    real.save()
    assert provider_bootstrap() is None
    assert not Provider.objects.get(name="Sandbox").active
    Provider.objects.filter(pk=real.pk).update(active=False)
    assert provider_bootstrap().name == "Sandbox"
    assert Provider.objects.get(name="Sandbox").active


def test_an_install_that_ran_with_the_development_key_gets_a_random_one_and_keeps_its_account(db, settings):
    settings.SANDBOX_API_KEY = "sandbox-key"
    account = sandbox_account_get()
    Account.objects.filter(pk=account.pk).update(balance=Decimal("12.34"))
    settings.SANDBOX_API_KEY = ""  # the production default
    provider = provider_bootstrap()
    key = provider.client()._api_key
    assert key != "sandbox-key" and len(key) >= 40
    assert account_authenticate(key="sandbox-key") is None
    same = account_authenticate(key=key)
    assert (same.pk, same.balance, same.house) == (account.pk, Decimal("12.34"), True)
    assert provider_bootstrap().client()._api_key == key  # and it stays


def test_migrate_runs_the_bootstrap(no_providers, settings):
    settings.JAP_API_KEY = API_KEY
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert Provider.objects.filter(name="JAP", active=True).exists()


def test_refreshing_the_balance_stores_it_and_clears_the_last_error(make_provider, panel):
    provider = make_provider(last_error="old failure")
    panel.post(API_URL, json={"balance": "100.84292", "currency": "EUR"})
    balance = provider_refresh_balance(provider=provider)
    provider.refresh_from_db()
    assert (provider.balance, provider.currency, provider.last_error) == (Decimal("100.84292"), "EUR", "")
    assert provider.balance_checked_at is not None
    assert balance.amount == Decimal("100.84292")


def test_a_failed_balance_refresh_is_recorded_and_raised(make_provider, panel):
    provider = make_provider()
    panel.post(API_URL, json={"error": "Invalid API key"})
    with pytest.raises(ProviderRejected):
        provider_refresh_balance(provider=provider)
    provider.refresh_from_db()
    assert provider.last_error == "Invalid API key"
    assert provider.last_error_at is not None
    assert provider.balance is None


def test_the_refresh_task_reads_every_active_provider_even_after_a_failure(make_provider, panel):
    make_provider("A", api_url="https://a.example/api/v2")
    make_provider("B", api_url="https://b.example/api/v2")
    make_provider("Off", api_url="https://off.example/api/v2", active=False)
    panel.post("https://a.example/api/v2", body=requests.ConnectionError("connection reset"))
    panel.post("https://b.example/api/v2", json={"balance": "5.00000", "currency": "USD"})
    refresh_balances()
    assert Provider.objects.get(name="A").last_error.startswith("balance: ")
    assert Provider.objects.get(name="B").balance == Decimal("5.00000")
    assert Provider.objects.get(name="Off").balance_checked_at is None


def test_the_refresh_task_runs_through_celery(make_provider, panel):
    make_provider()
    panel.post(API_URL, json={"balance": "2.5", "currency": "USD"})
    refresh_balances.apply()
    assert Provider.objects.get().balance == Decimal("2.5")


def test_an_undecryptable_key_is_recorded_like_any_provider_failure(make_provider, settings):
    provider = make_provider()
    settings.FIELD_ENCRYPTION_KEYS = ["V2hhdCBhIHdyb25nIGtleSB0aGlzIGlzIGZvciB1cyE="]
    with pytest.raises(ProviderUnreachable):
        provider_refresh_balance(provider=provider)
    provider.refresh_from_db()
    assert provider.last_error == "cannot decrypt the API key: check FIELD_ENCRYPTION_KEYS"


@pytest.mark.parametrize(
    ("balance", "currency", "reason"),
    [("1e30", "USD", "is beyond what the column holds"), ("5", "U" * 40, "longer than 10 characters")],
)
def test_a_balance_that_cannot_be_right_is_a_recorded_error_and_nothing_is_stored(
    make_provider, panel, balance, currency, reason
):
    provider = make_provider(balance=Decimal("7"))
    panel.post(API_URL, json={"balance": balance, "currency": currency})
    with pytest.raises(ProviderError, match=reason):
        provider_refresh_balance(provider=provider)
    provider.refresh_from_db()
    assert (provider.balance, provider.currency) == (Decimal("7"), "USD")
    assert reason in provider.last_error
