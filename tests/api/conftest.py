"""The team API's fixtures: people with keys, and a real-money panel that is the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from api.services import NewKey, api_key_create
from catalog.models import Service
from providers.models import Provider
from providers.sandbox.services import sandbox_account_get

PANEL_KEY = "panel-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _sandbox_settings(order_settings) -> None:
    """The API's orders go to the sandbox, on the settings of the order tests."""


@pytest.fixture
def key_of(people) -> Callable[[str], NewKey]:
    """`key_of("buyer")`: a fresh API key of that persona."""

    def make(name: str, **extra: object) -> NewKey:
        return api_key_create(user=people[name], name=f"{name}'s script", **extra)

    return make


@pytest.fixture
def call(client: Client) -> Callable[..., object]:
    """`call(token, "status", order=1)`: one form-encoded POST to /api/v2, its JSON answer."""

    def post(token: str, action: str, **params: object) -> object:
        response = client.post("/api/v2", {"key": token, "action": action, **params})
        assert response["Content-Type"] == "application/json"
        return response.json()

    return post


@pytest.fixture
def panel_url() -> str:
    """Where the panel is: nowhere reachable unless a test runs the sandbox over HTTP."""
    return "https://panel.example.invalid/api/v2"


@pytest.fixture
def panel(sandbox, settings, panel_url) -> Provider:  # noqa: F811
    """A provider of real money (its orders count in people's budgets) with the sandbox's key."""
    settings.SANDBOX_API_KEY = PANEL_KEY
    sandbox_account_get()
    provider = Provider(name="Panel", api_url=panel_url)
    provider.set_api_key(PANEL_KEY)
    provider.save()
    return provider


@pytest.fixture
def panel_followers(panel, catalog) -> Service:  # noqa: F811
    return catalog(
        "Default", provider=panel, category__startswith="Instagram Followers", refill=True, cancel=True
    )


@pytest.fixture
def budget_of() -> Callable[..., object]:
    from team.models import Budget

    def make(user: object, amount: str) -> Budget:
        return Budget.objects.create(user=user, amount=Decimal(amount), currency="USD")

    return make
