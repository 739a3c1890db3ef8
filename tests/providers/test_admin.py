"""The admin: the API key is write-only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from providers.models import Provider
from tests.providers.conftest import API_KEY, API_URL

NEW_KEY = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def provider(make_provider) -> Provider:
    return make_provider(balance="12.50000", currency="USD")


def key_input(html: str) -> str:
    (tag,) = re.findall(r"<input[^>]*name=\"api_key\"[^>]*>", html)
    return tag


def form_data(**overrides: str) -> dict[str, str]:
    return {"name": "JAP", "api_url": API_URL, "api_key": "", "currency": "USD", "active": "on", **overrides}


def test_the_change_page_has_an_empty_password_input_and_never_the_key(admin_client, provider):
    html = admin_client.get(reverse("admin:providers_provider_change", args=[provider.pk])).content.decode()
    tag = key_input(html)
    assert 'type="password"' in tag
    assert "value=" not in tag
    assert API_KEY not in html
    assert provider.api_key_encrypted not in html
    assert "••••cdef" in html


def test_the_list_shows_the_masked_key_and_the_balance_but_never_the_key(admin_client, provider):
    html = admin_client.get(reverse("admin:providers_provider_changelist")).content.decode()
    assert "••••cdef" in html
    assert "12.50000" in html
    assert API_KEY not in html


def test_a_new_provider_needs_a_key_and_stores_it_encrypted(admin_client, make_provider):
    url = reverse("admin:providers_provider_add")
    response = admin_client.post(url, form_data())
    assert "Enter the panel&#x27;s API key." in response.content.decode()
    response = admin_client.post(url, form_data(api_key=API_KEY))
    assert response.status_code == 302
    provider = Provider.objects.get(name="JAP")
    assert provider.api_key_encrypted and API_KEY not in provider.api_key_encrypted
    assert provider.client()._api_key == API_KEY


def test_saving_with_an_empty_key_keeps_the_key_and_a_new_one_replaces_it(admin_client, provider):
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    assert admin_client.post(url, form_data(currency="EUR")).status_code == 302
    provider.refresh_from_db()
    assert (provider.currency, provider.masked_api_key) == ("EUR", "••••cdef")
    assert admin_client.post(url, form_data(api_key=NEW_KEY)).status_code == 302
    provider.refresh_from_db()
    assert provider.masked_api_key == "••••3210"


def test_a_rejected_form_does_not_echo_the_typed_key(admin_client, provider):
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    response = admin_client.post(url, form_data(api_url="ftp://nowhere", api_key=NEW_KEY))
    assert response.status_code == 200
    assert NEW_KEY not in response.content.decode()


def test_the_refresh_action_reads_the_balance(admin_client, provider, panel):
    panel.post(API_URL, json={"balance": "99.00000", "currency": "USD"})
    response = admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "refresh_balance", "_selected_action": [provider.pk]},
        follow=True,
    )
    assert "JAP: 99.00000 USD" in response.content.decode()
