"""The API key at rest: encrypted, rotatable, failing closed, never displayed."""

from __future__ import annotations

import io
import logging
import uuid

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.db import connection
from django.template import Context, Template

from providers.client import ProviderUnreachable
from providers.crypto import ApiKeyDecryptionError
from providers.models import Provider, validate_api_url
from tests.providers.conftest import API_KEY, API_URL

OLD_KEY, NEW_KEY, OTHER_KEY = (Fernet.generate_key().decode() for _ in range(3))


def stored_row(provider: Provider) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM providers_provider WHERE id = %s", [provider.pk])
        return cursor.fetchone()


def test_the_database_never_holds_the_plain_key(make_provider):
    provider = make_provider()
    row = stored_row(provider)
    assert not any(API_KEY in str(value) for value in row)
    assert provider.api_key_encrypted in row


def test_the_client_gets_the_decrypted_key(make_provider, panel):
    panel.post(API_URL, json={"balance": "1.00", "currency": "USD"})
    make_provider().client().balance()
    assert f"key={API_KEY}" in panel.calls[0].request.body


def test_the_masked_key_shows_only_its_last_four_characters(make_provider):
    assert make_provider().masked_api_key == "••••cdef"
    assert make_provider(name="Short", api_key="sandbox-key").masked_api_key == "••••"


def test_repr_str_and_templates_never_show_the_key(make_provider):
    provider = make_provider()
    rendered = Template("{{ p }} {{ p.client }} {{ p.masked_api_key }} {{ p.api_key_encrypted }}").render(
        Context({"p": provider})
    )
    for text in (repr(provider), str(provider), rendered, repr(provider.client())):
        assert API_KEY not in text


def test_a_key_survives_rotation_to_a_new_encryption_key(make_provider, settings, panel):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    provider = make_provider()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert provider.masked_api_key == "••••cdef"
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert out.getvalue() == "re-encrypted 1 provider API key(s)\n"
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    provider.refresh_from_db()
    panel.post(API_URL, json={"balance": "1.00", "currency": "USD"})
    provider.client().balance()
    assert f"key={API_KEY}" in panel.calls[0].request.body


def test_wrong_encryption_keys_fail_closed_and_nothing_is_sent(make_provider, settings, panel):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    provider = make_provider()
    settings.FIELD_ENCRYPTION_KEYS = [OTHER_KEY]
    with pytest.raises(
        ApiKeyDecryptionError, match="^cannot decrypt the API key: check FIELD_ENCRYPTION_KEYS$"
    ):
        provider.client()
    assert issubclass(ApiKeyDecryptionError, ProviderUnreachable)
    assert provider.masked_api_key == "•••• (cannot decrypt)"
    assert len(panel.calls) == 0


def test_without_keys_in_production_nothing_is_encrypted_or_decrypted(make_provider, settings):
    provider = make_provider()
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS is empty"):
        provider.set_api_key("another")
    with pytest.raises(ApiKeyDecryptionError):
        provider.client()


def test_in_debug_without_keys_a_key_derived_from_the_secret_key_stands_in_with_a_warning(
    db, settings, caplog
):
    settings.DEBUG = True
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = f"dev-{uuid.uuid4()}"
    caplog.set_level(logging.WARNING)
    provider = Provider(name="Dev", api_url=API_URL)
    provider.set_api_key(API_KEY)
    assert provider.masked_api_key == "••••cdef"
    assert "FIELD_ENCRYPTION_KEYS is empty" in caplog.text
    assert "development only" in caplog.text


def test_a_malformed_encryption_key_is_a_configuration_error(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="not a Fernet key"):
        Provider(name="X", api_url=API_URL).set_api_key(API_KEY)


@pytest.mark.parametrize(
    "url", ["https://panel.example/api/v2", "http://127.0.0.1:8000/api/v2", "sandbox://local/api/v2"]
)
def test_panel_and_sandbox_urls_are_valid_api_urls(url):
    validate_api_url(url)


@pytest.mark.parametrize("url", ["ftp://panel.example/api/v2", "panel.example/api/v2", "https://"])
def test_other_urls_are_not(url):
    with pytest.raises(ValidationError):
        validate_api_url(url)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8000/api/v2", "loopback"),
        ("http://localhost:6379/", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.8/api/v2", "private"),
        ("https://[::1]/api/v2", "loopback"),
    ],
)
def test_an_address_inside_the_network_is_not_a_valid_api_url_unless_allowed(settings, url, kind):
    settings.ALLOW_PRIVATE_PROVIDER_URLS = False
    with pytest.raises(ValidationError, match=f"is a {kind} address inside the network"):
        validate_api_url(url)
    settings.ALLOW_PRIVATE_PROVIDER_URLS = True
    validate_api_url(url)


def test_a_port_out_of_range_is_not_a_valid_api_url():
    with pytest.raises(ValidationError, match="port"):
        validate_api_url("https://panel.example:99999/api/v2")
