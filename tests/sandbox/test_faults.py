"""Fault modes: the sandbox misbehaving on purpose, from the settings or per account."""

from __future__ import annotations

import time

import pytest
from django.test import Client, RequestFactory

from providers.sandbox.models import Account, FaultMode, Order
from providers.sandbox.views import api_v2
from tests.sandbox.conftest import KEY, URL
from tests.sandbox.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("mode", "status", "page"),
    [
        ("html_503", 503, b"Service Temporarily Unavailable"),
        ("cloudflare", 403, b"<title>Just a moment...</title>"),
    ],
    ids=["html_503 answers a maintenance page", "cloudflare answers a challenge page"],
)
def test_an_html_fault_mode_answers_its_page_and_processes_nothing(
    client: Client, account: Account, settings: object, mode: str, status: int, page: bytes
) -> None:
    settings.SANDBOX_FAULT_MODE = mode
    service = ServiceFactory()

    response = client.post(
        URL, {"key": KEY, "action": "add", "service": service.id, "link": "x", "quantity": 100}
    )

    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert page in response.content
    assert not Order.objects.exists()


def test_slow_mode_waits_then_answers_normally(client: Client, account: Account, settings: object) -> None:
    settings.SANDBOX_FAULT_MODE = "slow"
    settings.SANDBOX_SLOW_SECONDS = 0.2

    started = time.monotonic()
    response = client.post(URL, {"key": KEY, "action": "balance"})

    assert time.monotonic() - started >= 0.2
    assert response.json() == {"balance": "1000.00000", "currency": "USD"}


def test_late_accept_mode_leaves_actions_other_than_add_alone(
    client: Client, account: Account, settings: object
) -> None:
    settings.SANDBOX_FAULT_MODE = "late_accept"
    settings.PROVIDER_READ_TIMEOUT = 30

    started = time.monotonic()
    response = client.post(URL, {"key": KEY, "action": "balance"})

    assert time.monotonic() - started < 5
    assert response.json()["currency"] == "USD"


def test_an_account_can_override_the_fault_mode(client: Client, account: Account) -> None:
    other = Account.objects.create(api_key="other-key", fault_mode=FaultMode.HTML_503)

    assert client.post(URL, {"key": other.api_key, "action": "balance"}).status_code == 503
    assert client.post(URL, {"key": KEY, "action": "balance"}).status_code == 200


def test_an_account_can_switch_off_the_fault_mode_of_the_settings(
    client: Client, account: Account, settings: object
) -> None:
    settings.SANDBOX_FAULT_MODE = "cloudflare"
    Account.objects.filter(pk=account.pk).update(fault_mode=FaultMode.NONE)

    assert client.post(URL, {"key": KEY, "action": "balance"}).status_code == 200


def test_an_unknown_fault_mode_in_the_settings_means_none(
    client: Client, account: Account, settings: object
) -> None:
    settings.SANDBOX_FAULT_MODE = "typo"

    assert client.post(URL, {"key": KEY, "action": "balance"}).status_code == 200


def test_fault_modes_apply_when_called_directly(account: Account, settings: object) -> None:
    settings.SANDBOX_FAULT_MODE = "html_503"
    request = RequestFactory().get(URL, {"key": KEY, "action": "balance"})

    assert api_v2(request).status_code == 503
