"""The wire: inputs accepted, answer shapes and typing, error sentences of the dispatch."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory

from providers.sandbox.views import api_v2
from tests.sandbox.conftest import KEY, URL
from tests.sandbox.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def decode(response: object) -> object:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_it_answers_compact_php_style_json(client: Client, account: object) -> None:
    response = client.post(URL, {"key": KEY, "action": "balance"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == b'{"balance":"1000.00000","currency":"USD"}'


def test_it_checks_the_key_before_the_action(client: Client) -> None:
    assert decode(client.post(URL, {"key": "wrong", "action": "nope"})) == {"error": "Invalid API key"}
    assert decode(client.post(URL, {"action": "balance"})) == {"error": "Invalid API key"}


@pytest.mark.parametrize("action", ["", "nope", "BALANCE", "multiRefill"])
def test_it_answers_incorrect_request_for_a_missing_or_unknown_action(api: object, action: str) -> None:
    assert api(action) == {"error": "Incorrect request"}


def test_it_answers_incorrect_request_for_a_request_without_action(client: Client, account: object) -> None:
    # Copies of an old JAP example send refills without any action.
    assert decode(client.post(URL, {"key": KEY, "order": "1"})) == {"error": "Incorrect request"}


@pytest.mark.parametrize("action", ["status", "refill", "refill_status", "cancel"])
def test_it_answers_incorrect_request_when_the_id_parameter_is_missing(api: object, action: str) -> None:
    assert api(action) == {"error": "Incorrect request"}


def test_it_reads_a_get_query_string(client: Client, account: object) -> None:
    assert decode(client.get(URL, {"key": KEY, "action": "balance"}))["balance"] == "1000.00000"


def test_it_reads_a_json_object_body(client: Client, account: object) -> None:
    body = json.dumps({"key": KEY, "action": "status", "orders": [1, 2]})
    answer = decode(client.post(URL, body, content_type="application/json"))

    assert answer == {"1": {"error": "Incorrect order ID"}, "2": {"error": "Incorrect order ID"}}


def test_it_reads_a_form_body_sent_without_a_content_type(client: Client, account: object) -> None:
    answer = decode(client.post(URL, f"key={KEY}&action=balance", content_type="text/plain"))

    assert answer["currency"] == "USD"


def test_it_combines_the_query_string_and_the_body_and_the_body_wins(client: Client, account: object) -> None:
    answer = decode(client.post(f"{URL}?key=wrong&action=balance", {"key": KEY}))

    assert answer["balance"] == "1000.00000"


def test_it_accepts_a_trailing_slash(client: Client, account: object) -> None:
    assert decode(client.post(f"{URL}/", {"key": KEY, "action": "balance"}))["currency"] == "USD"


def test_it_needs_neither_a_csrf_token_nor_a_login(account: object) -> None:
    strict = Client(enforce_csrf_checks=True)

    assert decode(strict.post(URL, {"key": KEY, "action": "balance"}))["currency"] == "USD"


def test_it_works_when_called_directly_without_middleware(account: object) -> None:
    request = RequestFactory().post(
        "/sandbox/api/v2", f"key={KEY}&action=balance", content_type="application/x-www-form-urlencoded"
    )

    assert decode(api_v2(request)) == {"balance": "1000.00000", "currency": "USD"}


def test_it_lists_services_the_way_live_jap_does(api: object) -> None:
    services = api("services")
    first = services[0]

    assert list(first) == [
        "service",
        "name",
        "type",
        "rate",
        "min",
        "max",
        "dripfeed",
        "refill",
        "cancel",
        "category",
    ]
    assert all(type(item["service"]) is int for item in services)
    assert all(type(item["rate"]) is str for item in services)
    assert all(type(item["min"]) is int and type(item["max"]) is int for item in services)
    assert all(type(item[flag]) is bool for item in services for flag in ("dripfeed", "refill", "cancel"))


def test_it_keys_multi_status_by_string_ids_with_per_id_errors(api: object) -> None:
    service = ServiceFactory()
    order = api("add", service=service.id, link="https://example.com/p/1", quantity=100)["order"]

    answer = api("status", orders=f"{order},10,abc")

    assert list(answer) == [str(order), "10", "abc"]
    assert answer[str(order)] == {
        "charge": "0.12500",
        "start_count": "",
        "status": "Pending",
        "remains": "100",
        "currency": "USD",
    }
    assert answer["10"] == {"error": "Incorrect order ID"}


def test_it_answers_a_single_status_with_string_fields(api: object) -> None:
    service = ServiceFactory()
    order = api("add", service=service.id, link="https://example.com/p/1", quantity=100)["order"]

    answer = api("status", order=order)

    assert all(type(value) is str for value in answer.values())
    assert api("status", order=order + 1000) == {"error": "Incorrect order ID"}


def test_it_accepts_the_old_id_parameter_for_status(api: object) -> None:
    service = ServiceFactory()
    order = api("add", service=service.id, link="https://example.com/p/1", quantity=100)["order"]

    assert api("status", id=order)["status"] == "Pending"


def test_it_accepts_100_ids_and_refuses_101(api: object) -> None:
    hundred = ",".join(str(number) for number in range(1, 101))

    assert len(api("status", orders=hundred)) == 100
    for action, name in (("status", "orders"), ("refill", "orders"), ("refill_status", "refills")):
        answer = api(action, **{name: f"{hundred},101"})
        assert answer == {"error": "Too many IDs, the limit is 100 per request"}
    assert api("cancel", orders=f"{hundred},101") == {"error": "Too many IDs, the limit is 100 per request"}


def test_it_answers_cancel_as_a_list_with_per_order_errors(api: object) -> None:
    service = ServiceFactory()
    order = api("add", service=service.id, link="https://example.com/p/1", quantity=100)["order"]

    answer = api("cancel", orders=f"9999,{order}")

    assert answer == [
        {"order": 9999, "cancel": {"error": "Incorrect order ID"}},
        {"order": order, "cancel": 1},
    ]
    assert api("cancel", order=order) == [
        {"order": order, "cancel": {"error": "This order cannot be canceled"}}
    ]
