from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import responses

from providers.models import Provider

API_URL = "https://panel.example/api/v2"
API_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def make_provider(db) -> Callable[..., Provider]:
    """Providers made here replace the one that migrate bootstrapped."""
    Provider.objects.all().delete()

    def make(name: str = "JAP", api_url: str = API_URL, api_key: str = API_KEY, **fields: object) -> Provider:
        provider = Provider(name=name, api_url=api_url, **fields)
        provider.set_api_key(api_key)
        provider.save()
        return provider

    return make


@pytest.fixture
def panel() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
