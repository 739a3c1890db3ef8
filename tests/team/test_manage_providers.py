"""Providers: managers add and change panels in our pages; the API key is write-only."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from providers.models import Provider
from tests.factories import client_of, person
from tests.production.conftest import API_KEY, API_URL, assert_nowhere

NEW_KEY = "jpk-live-0000111122223333444455556666777788"


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("at", "id"))


def form(**changes: str) -> dict[str, str]:
    return {"name": "JAP", "api_url": API_URL, "api_key": "", "currency": "USD", "active": "on", **changes}


@pytest.fixture
def jap(db) -> Provider:
    provider = Provider(name="JAP", api_url=API_URL)
    provider.set_api_key(API_KEY)
    provider.save()
    return provider


@pytest.mark.django_db
def test_a_manager_adds_a_provider_its_key_is_encrypted_and_the_log_has_no_key(manager):
    url = reverse("team:provider_create")
    response = client_of(manager).post(url, form(api_key=API_KEY), REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 302
    provider = Provider.objects.get(name="JAP")
    assert provider._api_key() == API_KEY and API_KEY not in provider.api_key_encrypted
    [created] = entries(AuditAction.PROVIDER_CREATED)
    assert (created.actor, created.ip, created.after["api_url"]) == (manager, "192.0.2.9", API_URL)
    assert not entries(AuditAction.PROVIDER_KEY_CHANGED)
    assert_nowhere(json.dumps(list(AuditEntry.objects.values()), default=str), "the audit log")


@pytest.mark.django_db
def test_a_new_provider_needs_a_key_and_a_panel_url(manager):
    client = client_of(manager)
    page = client.post(reverse("team:provider_create"), form()).content.decode()
    assert "Enter the panel&#x27;s API key." in page
    page = client.post(
        reverse("team:provider_create"), form(api_url="ftp://x", api_key=API_KEY)
    ).content.decode()
    assert "Enter an https://, http:// or sandbox:// URL." in page
    assert not Provider.objects.filter(name="JAP").exists()


@pytest.mark.django_db
def test_a_panel_url_that_cannot_be_parsed_is_a_form_error_not_a_500(manager):
    response = client_of(manager).post(
        reverse("team:provider_create"), form(api_url="http://[", api_key=API_KEY)
    )
    assert response.status_code == 200
    assert "Enter an https://, http:// or sandbox:// URL." in response.content.decode()


@pytest.mark.django_db
def test_an_empty_key_keeps_the_current_one_and_a_new_key_is_recorded_as_replaced_only(manager, jap):
    client = client_of(manager)
    url = reverse("team:provider_edit", args=[jap.pk])
    assert client.post(url, form(currency="EUR")).status_code == 302
    jap.refresh_from_db()
    assert (jap.currency, jap._api_key()) == ("EUR", API_KEY)
    [changed] = entries(AuditAction.PROVIDER_CHANGED)
    assert (changed.before, changed.after) == ({"currency": "USD"}, {"currency": "EUR"})
    assert not entries(AuditAction.PROVIDER_KEY_CHANGED)
    assert client.post(url, form(currency="EUR", api_key=NEW_KEY)).status_code == 302
    jap.refresh_from_db()
    assert jap._api_key() == NEW_KEY
    [replaced] = entries(AuditAction.PROVIDER_KEY_CHANGED)
    assert (replaced.actor, replaced.note) == (manager, "The API key was replaced.")
    assert len(entries(AuditAction.PROVIDER_CHANGED)) == 1  # nothing else changed the second time
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    for secret in (API_KEY, NEW_KEY):
        assert_nowhere(everything, "the audit log", secret)


@pytest.mark.django_db
def test_the_key_is_never_on_the_list_or_the_edit_page_not_even_in_part(manager, jap):
    client = client_of(manager)
    edit = reverse("team:provider_edit", args=[jap.pk])
    pages = [client.get(reverse("team:provider_list")).content.decode(), client.get(edit).content.decode()]
    # A refused form with a new key in it: the password field does not send it back either.
    refused = client.post(edit, form(name="", api_key=NEW_KEY)).content.decode()
    assert "This field is required." in refused
    html = "\n".join([*pages, refused])
    for secret in (API_KEY, NEW_KEY):
        assert_nowhere(html, "a providers page", secret)
    assert API_KEY[-4:] not in html and jap.api_key_encrypted not in html
    assert "API key: set." in pages[1] and "Leave empty to keep the current key" in pages[1]
    assert "<td>set</td>" in pages[0]


@pytest.mark.django_db
def test_the_admin_saves_through_the_same_service(admin_client, jap):
    url = reverse("admin:providers_provider_change", args=[jap.pk])
    assert admin_client.post(url, form(api_key=NEW_KEY, active="")).status_code == 302
    jap.refresh_from_db()
    assert jap._api_key() == NEW_KEY and not jap.active
    [changed] = entries(AuditAction.PROVIDER_CHANGED)
    assert (changed.before, changed.after) == ({"active": True}, {"active": False})
    assert [entry.actor_name for entry in entries(AuditAction.PROVIDER_KEY_CHANGED)] == ["admin"]


@pytest.mark.django_db(transaction=True)
def test_refresh_balance_reads_the_sandbox_balance_into_the_row(manager, sandbox, account):
    client = client_of(manager, **{"HX-Request": "true"})
    response = client.post(reverse("team:provider_refresh", args=[sandbox.pk]))
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tr id="provider-{sandbox.pk}"')
    assert "1,000.00 USD" in row and "Sandbox: balance 1000" in row
    sandbox.refresh_from_db()
    assert sandbox.balance == Decimal("1000") and sandbox.balance_checked_at is not None
    redirect = client_of(manager).post(reverse("team:provider_refresh", args=[sandbox.pk]), follow=True)
    assert "Sandbox: balance 1000" in redirect.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_provider_error_on_refresh_is_a_readable_message_never_a_500(manager, sandbox, account, settings):
    settings.SANDBOX_FAULT_MODE = "html_503"
    client = client_of(manager, **{"HX-Request": "true"})
    response = client.post(reverse("team:provider_refresh", args=[sandbox.pk]))
    assert response.status_code == 200
    sandbox.refresh_from_db()
    assert sandbox.last_error and sandbox.balance is None
    row = response.content.decode()
    assert "Sandbox: the balance could not be read:" in row and 'class="message note error"' in row
    settings.SANDBOX_FAULT_MODE = "none"
    sandbox.set_api_key("not-the-sandbox-key")
    sandbox.save()
    page = client_of(manager).post(reverse("team:provider_refresh", args=[sandbox.pk]), follow=True)
    assert page.status_code == 200
    assert "Sandbox: the balance could not be read: Invalid API key" in page.content.decode()


@pytest.mark.django_db
def test_provider_pages_refuse_anyone_without_the_right(jap):
    approver = client_of(person("approver", "Approver"))
    assert approver.get(reverse("team:provider_list")).status_code == 403
    assert approver.post(reverse("team:provider_refresh", args=[jap.pk])).status_code == 403
    edit = reverse("team:provider_edit", args=[jap.pk])
    assert approver.post(edit, form(api_key=NEW_KEY)).status_code == 403
    assert (
        approver.post(reverse("team:provider_create"), form(name="Other", api_key=NEW_KEY)).status_code == 403
    )
    jap.refresh_from_db()
    assert jap._api_key() == API_KEY and Provider.objects.filter(name="Other").count() == 0
