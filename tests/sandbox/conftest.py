from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from providers.sandbox import clock as sandbox_clock
from providers.sandbox.models import Account, Service
from providers.sandbox.services import sandbox_account_get, service_catalog_ensure

KEY = "test-sandbox-key"
URL = "/sandbox/api/v2"


@pytest.fixture(autouse=True)
def sandbox_settings(settings: object) -> None:
    settings.SANDBOX_API_KEY = KEY
    settings.SANDBOX_START_BALANCE = Decimal("1000")
    settings.SANDBOX_TIME_SCALE = 60.0
    settings.SANDBOX_SEED = 2026
    settings.SANDBOX_FAULT_MODE = "none"


@pytest.fixture
def account(db: None) -> Account:
    return sandbox_account_get()


@pytest.fixture
def catalog(db: None) -> None:
    service_catalog_ensure()


@pytest.fixture
def api(client: object, clock: sandbox_clock.FrozenClock, account: Account) -> Callable[..., object]:
    """POST one form-encoded call with the sandbox key and return the decoded JSON."""

    def call(action: str, **params: object) -> object:
        response = client.post(URL, {"key": KEY, "action": action, **params})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        return json.loads(response.content)

    return call


def service_of(service_type: str, **filters: object) -> Service:
    """The first active catalog service of this type (and filters)."""
    service_catalog_ensure()
    return Service.objects.filter(type=service_type, active=True, **filters).order_by("id").first()
