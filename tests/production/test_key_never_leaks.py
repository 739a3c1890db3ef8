"""The panel API key: encrypted at rest, masked on screen, and absent from everything else.

Each test drives a provider failure through the paths an operator meets it by (the admin's
refresh action, the scheduled balance task, the dashboard, the admin pages) while capturing
every log record, every HTML answer, every Celery message and the whole database, then looks
for the key in all of it.
"""

from __future__ import annotations

import logging

import pytest
import requests
import responses
from cryptography.fernet import Fernet
from django.urls import reverse

from providers import crypto
from providers.models import Provider
from providers.tasks import refresh_balances
from tests.production.conftest import API_KEY, API_URL, assert_nowhere, database_text, formatted_logs

ECHO = f"key={API_KEY}&action=balance"
FAILURES = {
    "rejected, echoing the key": {"json": {"error": f"Incorrect request: key {API_KEY} is not valid"}},
    "HTML 503 echoing the request": {
        "body": f"<html><title>503</title><pre>{ECHO}</pre></html>",
        "status": 503,
        "content_type": "text/html",
    },
    "not JSON, echoing the request": {"body": f"Warning: {ECHO}", "status": 200},
    "unrecognised JSON holding the key": {"json": {"balance": "n/a", "debug": {"key": API_KEY}}},
    "Cloudflare challenge": {
        "body": f"<title>Just a moment...</title>{ECHO}",
        "status": 403,
        "headers": {"cf-mitigated": "challenge"},
    },
    "connection refused naming the key": {"body": requests.ConnectionError(f"refused while sending {ECHO}")},
    "read timeout": {"body": requests.ReadTimeout(f"read timed out after sending {ECHO}")},
}


def pages(admin_client, provider: Provider) -> list[str]:
    urls = [
        reverse("dashboard"),
        reverse("admin:providers_provider_changelist"),
        reverse("admin:providers_provider_change", args=[provider.pk]),
        reverse("admin:index"),
    ]
    return [admin_client.get(url).content.decode() for url in urls]


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_no_provider_failure_puts_the_key_in_logs_pages_tasks_or_the_database(
    admin_client, provider, caplog, published_tasks, failure
):
    caplog.set_level(logging.DEBUG)
    html = []
    with responses.RequestsMock() as panel:
        panel.add(responses.POST, API_URL, **failure)
        action = admin_client.post(
            reverse("admin:providers_provider_changelist"),
            {"action": "refresh_balance", "_selected_action": [provider.pk]},
            follow=True,
        )
        html.append(action.content.decode())
        outcome = refresh_balances.apply()
        refresh_balances.delay()
        assert len(panel.calls) == 2
    provider.refresh_from_db()
    assert provider.last_error, "the failure was not recorded"
    assert "JAP: " in html[0] and "messagelist" in html[0]
    html += pages(admin_client, provider)

    assert_nowhere("\n".join(html), "an HTML page")
    assert_nowhere(formatted_logs(caplog.records), "the logs")
    assert_nowhere(repr((outcome.result, outcome.traceback)) + "\n".join(published_tasks), "a Celery task")
    assert_nowhere(database_text(), "the database")
    assert published_tasks, "the task was not published"


def test_the_database_column_holds_a_fernet_token_that_opens_to_the_key(provider):
    stored = Provider.objects.values_list("api_key_encrypted", flat=True).get(pk=provider.pk)
    assert API_KEY not in stored
    assert crypto.decrypt(stored) == API_KEY
    assert_nowhere(database_text(), "the database")


def test_the_admin_audit_log_of_a_key_change_names_the_field_not_the_value(admin_client, provider):
    new_key = "jpk-live-0000111122223333444455556666777788"
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    form = {"name": "JAP", "api_url": API_URL, "api_key": new_key, "currency": "USD", "active": "on"}
    assert admin_client.post(url, form).status_code == 302
    html = admin_client.get(reverse("admin:index")).content.decode()  # "Recent actions"
    html += admin_client.get(reverse("admin:providers_provider_history", args=[provider.pk])).content.decode()
    assert "Changed API key" in html
    for secret in (API_KEY, new_key):
        assert_nowhere(html, "the admin history", secret)
        assert_nowhere(database_text(), "the database", secret)
    assert "••••7788" in admin_client.get(reverse("dashboard")).content.decode()


@pytest.fixture
def undecryptable(provider, settings) -> Provider:
    """The key was stored under an encryption key the server no longer has."""
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return provider


def test_a_key_that_cannot_be_decrypted_fails_closed_with_a_clear_error_and_no_request(
    admin_client, undecryptable, caplog
):
    caplog.set_level(logging.DEBUG)
    # Strict: any request at all would be recorded and fail the test.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as panel:
        page = admin_client.post(
            reverse("admin:providers_provider_changelist"),
            {"action": "refresh_balance", "_selected_action": [undecryptable.pk]},
            follow=True,
        )
        refresh_balances.apply()
        assert len(panel.calls) == 0
    assert "JAP: cannot decrypt the API key: check FIELD_ENCRYPTION_KEYS" in page.content.decode()
    undecryptable.refresh_from_db()
    assert undecryptable.last_error == "cannot decrypt the API key: check FIELD_ENCRYPTION_KEYS"
    assert "•••• (cannot decrypt)" in admin_client.get(reverse("dashboard")).content.decode()
    assert "cannot decrypt the API key" in caplog.text
