"""The API key goes only to the host it was entered for; URL credentials are never shown or logged."""

from __future__ import annotations

import io
import json
import logging

import pytest
import responses
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from orders.templatetags.orders_tags import panel_orders_url
from providers.client import ProviderOutcomeUnknown, ProviderUnreachable
from providers.models import Provider
from providers.services import provider_bootstrap, provider_refresh_balance
from tests.factories import client_of, person
from tests.providers.conftest import API_KEY, API_URL
from tests.team.test_manage_providers import form

EVIL_URL = "https://collector.evil.example/api/v2"
NEW_KEY = "fedcba9876543210fedcba9876543210"
PASSWORD = "basic-auth-s3cret"
URL_WITH_CREDENTIALS = f"https://ops:{PASSWORD}@panel.example/api/v2"


@pytest.fixture
def boss(db):
    return person("boss", "Manager")


@pytest.fixture
def jap(make_provider) -> Provider:
    return make_provider()


@pytest.fixture
def nothing_sent():
    """Every host answers, and the test asserts nobody was asked."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, EVIL_URL, json={"balance": "1", "currency": "USD"})
        mock.add(responses.POST, API_URL, json={"balance": "1", "currency": "USD"})
        yield mock
        assert not mock.calls


@pytest.mark.parametrize(
    "new_url",
    [
        EVIL_URL,
        "http://panel.example/api/v2",  # the scheme
        "https://panel.example:8443/api/v2",  # the port
        "https://panel.example.evil.example/api/v2",  # the host
    ],
)
def test_a_url_on_another_host_without_the_key_is_refused_on_the_team_page(boss, jap, new_url):
    response = client_of(boss).post(reverse("team:provider_edit", args=[jap.pk]), form(api_url=new_url))
    assert response.status_code == 200
    assert "The API URL now points to another host: enter the API key again." in response.content.decode()
    jap.refresh_from_db()
    assert jap.api_url == API_URL
    assert not AuditEntry.objects.filter(action=AuditAction.PROVIDER_CHANGED).exists()


def test_the_admin_refuses_a_url_on_another_host_without_the_key_too(admin_client, jap):
    url = reverse("admin:providers_provider_change", args=[jap.pk])
    response = admin_client.post(url, form(api_url=EVIL_URL))
    assert "enter the API key again" in response.content.decode()
    jap.refresh_from_db()
    assert jap.api_url == API_URL


@pytest.mark.parametrize("same_host", ["https://panel.example/api/v3", "https://PANEL.example:443/api/v2"])
def test_a_new_path_on_the_same_host_keeps_the_key(boss, jap, same_host):
    response = client_of(boss).post(reverse("team:provider_edit", args=[jap.pk]), form(api_url=same_host))
    assert response.status_code == 302
    jap.refresh_from_db()
    assert (jap.api_url, jap.client()._api_key) == (same_host, API_KEY)


def test_the_key_entered_again_with_a_new_host_is_saved_and_audited_as_a_key_change(boss, jap, panel):
    new_url = "https://panel2.example/api/v2"
    response = client_of(boss).post(
        reverse("team:provider_edit", args=[jap.pk]), form(api_url=new_url, api_key=NEW_KEY)
    )
    assert response.status_code == 302
    [changed] = AuditEntry.objects.filter(action=AuditAction.PROVIDER_CHANGED)
    assert (changed.before, changed.after) == ({"api_url": API_URL}, {"api_url": new_url})
    [key] = AuditEntry.objects.filter(action=AuditAction.PROVIDER_KEY_CHANGED)
    assert (key.actor, key.note) == (
        boss,
        "The API key was entered again for the new host panel2.example.",
    )
    panel.post(new_url, json={"balance": "2", "currency": "USD"})
    jap.refresh_from_db()
    assert provider_refresh_balance(provider=jap).amount == 2
    assert f"key={NEW_KEY}" in panel.calls[0].request.body


def test_the_stored_key_is_never_sent_to_a_url_changed_behind_the_forms(jap, nothing_sent):
    Provider.objects.filter(pk=jap.pk).update(api_url=EVIL_URL)
    jap.refresh_from_db()
    # Unreachable: provably never sent, so whatever was asking may ask again once the key is in.
    with pytest.raises(
        ProviderUnreachable, match="entered for panel.example:443 and is not sent to collector"
    ):
        provider_refresh_balance(provider=jap)
    jap.refresh_from_db()
    assert "enter the key again" in jap.last_error


def test_the_jap_command_goes_through_the_same_rule(jap, nothing_sent):
    Provider.objects.filter(pk=jap.pk).update(api_url=EVIL_URL)
    with pytest.raises(CommandError, match="^JAP: ApiKeyNotForThisUrl: the API key was entered for panel"):
        call_command("jap", "balance", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_new_url_in_the_environment_carries_its_key_with_it(settings, panel):
    Provider.objects.all().delete()
    settings.JAP_API_KEY, settings.JAP_API_URL = API_KEY, API_URL
    provider_bootstrap()
    settings.JAP_API_URL = "https://panel2.example/api/v2"
    provider = provider_bootstrap()
    panel.post(settings.JAP_API_URL, json={"balance": "3", "currency": "USD"})
    assert provider_refresh_balance(provider=provider).amount == 3


# Credentials in a URL --------------------------------------------------------------------------------


def test_credentials_in_the_api_url_are_never_shown_or_logged(boss, make_provider, admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    jap = make_provider(api_url=URL_WITH_CREDENTIALS)
    manager_client = client_of(boss)
    pages = [
        manager_client.get(reverse("team:provider_list")),
        manager_client.get(reverse("team:provider_edit", args=[jap.pk])),
        manager_client.get(reverse("dashboard")),
        admin_client.get(reverse("admin:providers_provider_changelist")),
        admin_client.get(reverse("admin:providers_provider_change", args=[jap.pk])),
    ]
    assert (
        manager_client.post(
            reverse("team:provider_edit", args=[jap.pk]), form(api_url=jap.api_url_shown, currency="EUR")
        ).status_code
        == 302
    )
    with responses.RequestsMock() as panel:
        panel.post(URL_WITH_CREDENTIALS, body="<html><title>Down</title></html>", status=502)
        with pytest.raises(ProviderOutcomeUnknown) as caught:
            provider_refresh_balance(provider=jap)
    seen = "\n".join(
        [
            *(page.content.decode() for page in pages),
            json.dumps(list(AuditEntry.objects.values()), default=str),
            caplog.text,
            str(caught.value),
            repr(jap),
            repr(jap.client()),
            panel_orders_url(jap),
            Provider.objects.get(pk=jap.pk).last_error,
        ]
    )
    assert "panel.example/api/v2" in seen
    assert PASSWORD not in seen and "ops:" not in seen


def test_the_edit_form_keeps_stored_credentials_when_the_url_comes_back_unchanged(boss, make_provider):
    jap = make_provider(api_url=URL_WITH_CREDENTIALS)
    edit = reverse("team:provider_edit", args=[jap.pk])
    response = client_of(boss).post(edit, form(api_url="https://panel.example/api/v2", currency="EUR"))
    assert response.status_code == 302
    jap.refresh_from_db()
    assert (jap.api_url, jap.currency) == (URL_WITH_CREDENTIALS, "EUR")
