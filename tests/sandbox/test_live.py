"""The sandbox over real HTTP, the way a third-party JAP client meets it."""

from __future__ import annotations

import pytest
import requests

from providers.sandbox.models import Order
from providers.sandbox.services import service_catalog_ensure
from tests.sandbox.conftest import KEY

TIMEOUT = (5, 10)


@pytest.fixture
def endpoint(live_server: object, transactional_db: None, clock: object) -> str:
    return f"{live_server.url}/sandbox/api/v2"


def test_a_real_http_client_can_order_and_follow_the_order(endpoint: str, clock: object) -> None:
    # A PHP-style client: form-encoded POST, old user agent, key in the body.
    session = requests.Session()
    session.headers["User-Agent"] = "Mozilla/4.0 (compatible; MSIE 5.01; Windows NT 5.0)"

    def call(**params: object) -> object:
        response = session.post(endpoint, data={"key": KEY, **params}, timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        return response.json()

    services = call(action="services")
    followers = next(
        item for item in services if item["name"].startswith("Instagram Followers [Refill: 30D]")
    )
    order = call(
        action="add", service=followers["service"], link="https://instagram.com/jappanel", quantity=100
    )
    clock.advance(simulated=True, days=1)

    assert call(action="status", orders=str(order["order"]))[str(order["order"])]["status"] in (
        "Completed",
        "Partial",
    )
    assert call(action="balance")["currency"] == "USD"
    assert session.get(endpoint, params={"key": "nope", "action": "balance"}, timeout=TIMEOUT).json() == {
        "error": "Invalid API key"
    }


def test_late_accept_commits_the_order_before_the_client_gives_up(endpoint: str, settings: object) -> None:
    settings.SANDBOX_FAULT_MODE = "late_accept"
    settings.PROVIDER_READ_TIMEOUT = 0.1
    service_catalog_ensure()
    data = {
        "key": KEY,
        "action": "add",
        "service": 1002,
        "link": "https://instagram.com/late",
        "quantity": 100,
    }

    with pytest.raises(requests.ReadTimeout):
        requests.post(endpoint, data=data, timeout=(5, 0.5))

    order = Order.objects.get(link="https://instagram.com/late")
    assert order.charge > 0
