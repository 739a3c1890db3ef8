"""The client against the recorded shapes of §1.3–1.10 (one test per row or quirk)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from providers.client import (
    Balance,
    ItemError,
    OrderFieldError,
    ProviderOrderStatus,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ServiceInfo,
)
from tests.client.conftest import API_KEY, API_URL


def answer(panel: responses.RequestsMock, body: object, **params: str) -> None:
    matcher = [matchers.urlencoded_params_matcher({"key": API_KEY, **params})]
    panel.post(API_URL, json=body, match=matcher)


def sent(panel: responses.RequestsMock, index: int = 0) -> dict[str, str]:
    body = panel.calls[index].request.body
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}


# Transport ---------------------------------------------------------------------------------


def test_every_call_is_a_form_encoded_post_with_an_honest_user_agent_and_explicit_timeouts(
    panel, jap, settings
):
    answer(panel, {"balance": "1.5", "currency": "USD"}, action="balance")
    jap.balance()
    request = panel.calls[0].request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == f"jappanel/{settings.VERSION}"
    assert request.req_kwargs["timeout"] == (1, 2)


def test_timeouts_default_to_the_settings(settings):
    from providers.client import JapClient

    settings.PROVIDER_CONNECT_TIMEOUT = 3.5
    settings.PROVIDER_READ_TIMEOUT = 42.0
    client = JapClient(API_URL, API_KEY)
    assert (client.connect_timeout, client.read_timeout) == (3.5, 42.0)


def test_multi_line_fields_are_sent_like_php_urlencode(panel, jap):
    answer(panel, {"order": 1}, action="add", service="2", link="https://x/p 1", comments="good pic\n:)")
    jap.add(2, link="https://x/p 1", comments=["good pic", ":)"])
    assert "comments=good+pic%0A%3A%29" in panel.calls[0].request.body
    assert "link=https%3A%2F%2Fx%2Fp+1" in panel.calls[0].request.body


def test_id_lists_are_joined_with_commas_without_spaces(panel, jap):
    answer(panel, {"1": {"status": "Pending"}, "2": {"status": "Pending"}}, action="status", orders="1,2")
    jap.statuses([1, 2])
    assert sent(panel)["orders"] == "1,2"


@pytest.mark.parametrize(
    ("method", "action", "param", "shape"),
    [
        ("statuses", "status", "orders", lambda ids: {str(i): {"status": "Pending"} for i in ids}),
        ("refills", "refill", "orders", lambda ids: [{"order": i, "refill": i} for i in ids]),
        (
            "refill_statuses",
            "refill_status",
            "refills",
            lambda ids: [{"refill": i, "status": "Pending"} for i in ids],
        ),
        ("cancel", "cancel", "orders", lambda ids: [{"order": i, "cancel": 1} for i in ids]),
    ],
)
def test_250_ids_are_sent_in_three_calls_of_at_most_100(panel, jap, method, action, param, shape):
    def reply(request):
        ids = [int(i) for i in parse_qs(request.body)[param][0].split(",")]
        return 200, {}, json.dumps(shape(ids))

    panel.add_callback(responses.POST, API_URL, callback=reply)
    result = getattr(jap, method)(range(1, 251))
    sizes = [len(sent(panel, i)[param].split(",")) for i in range(len(panel.calls))]
    assert sizes == [100, 100, 50]
    assert {sent(panel, i)["action"] for i in range(3)} == {action}
    assert sorted(result) == list(range(1, 251))


def test_repeated_ids_are_asked_once_and_no_ids_means_no_call(panel, jap):
    answer(panel, {"7": {"status": "Completed"}}, action="status", orders="7")
    assert list(jap.statuses([7, 7, "7"])) == [7]
    assert jap.statuses([]) == {}
    assert len(panel.calls) == 1


# §1.3 services -----------------------------------------------------------------------------

DOC_SERVICES = [
    {"service": 1, "name": "Followers", "type": "Default", "category": "First Category",
     "rate": "0.90", "min": "50", "max": "10000", "refill": True, "cancel": True},
    {"service": 2, "name": "Comments", "type": "Custom Comments", "category": "Second Category",
     "rate": "8", "min": "10", "max": "1500", "refill": False, "cancel": True},
]  # fmt: skip
LIVE_SERVICES = [
    {"service": 7102,
     "name": "Telegram Members [Refill: 7D] [Start Time: 0 - 1 Hr] [Max: 30K] [Speed: 20K/D] 💧⛔",
     "type": "Default", "rate": "0.125", "min": 10, "max": 100000,
     "dripfeed": True, "refill": False, "cancel": True, "category": "Telegram Members"},
    {"service": 5994, "name": "Instagram Views [Max: 10M] [Start Time: 0-1 Hour] [Speed: 200K/D]",
     "type": "Default", "rate": "0.0015", "min": 100, "max": 2147483647,
     "dripfeed": True, "refill": False, "cancel": False, "category": "Instagram Views"},
]  # fmt: skip


def test_services_of_the_doc_example_have_string_numbers_and_no_dripfeed(panel, jap):
    answer(panel, DOC_SERVICES, action="services")
    result = jap.services()
    assert result.services[0] == ServiceInfo(
        id=1, name="Followers", type="Default", category="First Category", rate=Decimal("0.90"),
        min=50, max=10000, dripfeed=False, refill=True, cancel=True,
    )  # fmt: skip
    assert result.services[1].type == "Custom Comments"
    assert result.skipped_count == 0


def test_services_as_live_jap_sends_them_have_int_bounds_and_an_unlimited_max(panel, jap):
    answer(panel, LIVE_SERVICES, action="services")
    first, second = jap.services().services
    assert (first.id, first.rate, first.min, first.max, first.dripfeed) == (
        7102,
        Decimal("0.125"),
        10,
        100000,
        True,
    )
    assert first.name.endswith("💧⛔")
    assert second.max == 2147483647
    assert isinstance(second.rate, Decimal)


def test_services_of_other_panels_may_be_all_strings_without_cancel_and_with_extra_fields(panel, jap):
    entry = {"service": "3331", "name": "Likes", "type": "Default", "category": "IG", "rate": "1.20",
             "min": "10", "max": "5000", "refill": "1", "desc": "fast",
             "name_lang": {"en": "Likes"}}  # fmt: skip
    answer(panel, [entry], action="services")
    (service,) = jap.services().services
    assert (service.id, service.min, service.max, service.refill, service.cancel) == (
        3331,
        10,
        5000,
        True,
        False,
    )


def test_a_json_number_rate_becomes_an_exact_decimal_not_a_float(panel, jap):
    panel.post(
        API_URL, body='[{"service":1,"name":"A","type":"Default","category":"c","rate":0.1,"min":1,"max":2}]'
    )
    assert jap.services().services[0].rate == Decimal("0.1")


def test_a_malformed_service_entry_is_skipped_and_counted_not_fatal(panel, jap, caplog):
    broken = [
        {"service": "x", "name": "Bad id"},
        {"service": 9, "rate": "1"},
        "nonsense",
        {**DOC_SERVICES[0], "rate": "abc"},
    ]
    answer(panel, [*DOC_SERVICES, *broken], action="services")
    result = jap.services()
    assert [s.id for s in result.services] == [1, 2]
    assert result.skipped_count == 4
    assert result.skipped[:2] == (
        "an entry without a service id: expected a number, got 'x'",
        "service 9: the service has no name",
    )
    assert "skipped 4 malformed entries of 6" in caplog.text


def test_services_that_are_not_a_list_mean_the_answer_is_not_understood(panel, jap):
    answer(panel, {"services": []}, action="services")
    with pytest.raises(ProviderOutcomeUnknown, match="unrecognised answer"):
        jap.services()


# §1.4 add ------------------------------------------------------------------------------------

ADD_CASES = {
    "Default": {"link": "https://ig/p/1", "quantity": 100},
    "Default drip-feed": {"link": "https://ig/p/1", "quantity": 100, "runs": 2, "interval": 5},
    "Package": {"link": "https://ig/p/1"},
    "SEO": {"link": "https://site", "quantity": 100, "keywords": ["cheap shoes", "red shoes"]},
    "Custom Comments": {"link": "https://ig/p/1", "comments": "good pic\ngreat photo\n:)\n;)"},
    "Custom Comments Package": {"link": "https://ig/p/1", "comments": ["nice", "wow"]},
    "Mentions": {"link": "https://ig/p/1", "quantity": 10, "usernames": ["test", "testing"]},
    "Mentions with Hashtags": {"link": "https://ig/p/1", "quantity": 10, "usernames": "test, testing",
                               "hashtags": "#goodphoto"},
    "Mentions Custom List": {"link": "https://ig/p/1", "usernames": "test\nexample\nfb"},
    "Mentions Hashtag": {"link": "https://ig/p/1", "quantity": 10, "hashtag": "summer"},
    "Mentions User Followers": {"link": "https://ig/p/1", "quantity": 10, "username": "nasa"},
    "Mentions Media Likers": {"link": "https://ig/p/1", "quantity": 10, "media": "http://example.com/p/Ds2kfEr24Dr"},
    "Comment Likes": {"link": "https://ig/p/1", "quantity": 10, "username": "owner"},
    "Comment Replies": {"link": "https://ig/p/1", "username": "owner", "comments": ["thanks", "agreed"]},
    "Poll": {"link": "https://t.me/c/1", "quantity": 10, "answer_number": "7"},
    "Invites from Groups": {"link": "https://fb/g/1", "quantity": 10, "groups": "group1\ngroup2"},
    "Subscriptions": {"username": "nasa", "min": 100, "max": 110, "posts": 0, "old_posts": 5, "delay": 30,
                      "expiry": datetime.date(2022, 11, 11)},
    "Web Traffic": {"link": "https://site", "quantity": 1000, "runs": 2, "interval": 60, "country": "US",
                    "device": 5, "type_of_traffic": 1, "google_keyword": "shoes"},
}  # fmt: skip


def _wire(value: object) -> str:
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list):
        return "\n".join(value)
    return str(value)


@pytest.mark.parametrize("case", ADD_CASES)
def test_add_sends_the_parameters_of_every_service_type_and_returns_the_order_id(panel, jap, case):
    fields = ADD_CASES[case]
    answer(panel, {"order": 23501}, action="add", service="10", **{k: _wire(v) for k, v in fields.items()})
    assert jap.add(10, **fields) == 23501


def test_an_order_id_sent_as_a_string_is_an_int(panel, jap):
    answer(panel, {"order": "23501"}, action="add", service="1", link="https://x", quantity="10")
    assert jap.add(1, link="https://x", quantity=10) == 23501


@pytest.mark.parametrize("body", [{"status": "ok"}, {"order": None}, {"order": "abc"}, [], {"order": 0}])
def test_an_add_answer_without_an_order_id_may_have_been_charged(panel, jap, body):
    answer(panel, body, action="add", service="1", link="https://x", quantity="10")
    with pytest.raises(ProviderOutcomeUnknown, match="may have been placed and charged"):
        jap.add(1, link="https://x", quantity=10)


def test_an_unknown_add_field_is_refused_before_anything_is_sent(panel, jap):
    with pytest.raises(OrderFieldError, match="quantiy: not a parameter of `add`"):
        jap.add(1, link="https://x", quantiy=10)
    assert len(panel.calls) == 0


# §1.5 status --------------------------------------------------------------------------------

DOC_STATUS = {
    "charge": "0.27819",
    "start_count": "3572",
    "status": "Partial",
    "remains": "157",
    "currency": "USD",
}


def test_a_single_status_has_decimal_charge_and_int_counts(panel, jap):
    answer(panel, DOC_STATUS, action="status", order="1")
    status = jap.status(1)
    assert status == ProviderOrderStatus(
        status="Partial", charge=Decimal("0.27819"), start_count=3572, remains=157, currency="USD"
    )
    assert status.is_final


def test_an_empty_start_count_is_none(panel, jap):
    answer(panel, {**DOC_STATUS, "start_count": "", "status": "In progress"}, action="status", order="1")
    status = jap.status(1)
    assert status.start_count is None
    assert not status.is_final


def test_an_empty_status_right_after_add_reads_as_pending(panel, jap):
    answer(panel, {**DOC_STATUS, "status": ""}, action="status", order="1")
    assert jap.status(1).status == "Pending"


def test_multi_status_is_keyed_by_string_ids_with_errors_per_id(panel, jap):
    body = {
        "1": DOC_STATUS,
        "10": {"error": "Incorrect order ID"},
        "100": {
            "charge": "1.44219",
            "start_count": "234",
            "status": "In progress",
            "remains": "10",
            "currency": "USD",
        },
    }
    answer(panel, body, action="status", orders="1,10,100")
    result = jap.statuses([1, 10, 100])
    assert result[1].charge == Decimal("0.27819")
    assert result[10] == ItemError("Incorrect order ID")
    assert result[100].remains == 10


def test_a_subscription_parent_reports_its_child_orders(panel, jap):
    body = {
        "status": "Completed",
        "expiry": "2026-07-20",
        "posts": "1",
        "orders": ["38407727"],
        "old_orders": [],
    }
    answer(panel, body, action="status", order="5")
    status = jap.status(5)
    assert (status.orders, status.old_orders, status.posts, status.expiry) == (
        (38407727,),
        (),
        1,
        "2026-07-20",
    )
    assert status.charge is None


def test_a_drip_feed_parent_reports_its_runs(panel, jap):
    answer(
        panel,
        {"status": "Completed", "runs": "2", "orders": ["37595771", "37596003"]},
        action="status",
        order="6",
    )
    status = jap.status(6)
    assert (status.runs, status.orders) == (2, (37595771, 37596003))


def test_a_child_order_of_another_currency_keeps_its_currency(panel, jap):
    body = {
        "charge": "16.6509",
        "start_count": "",
        "status": "In progress",
        "remains": "25",
        "currency": "NGN",
    }
    answer(panel, body, action="status", order="38407727")
    assert jap.status(38407727).currency == "NGN"


def test_a_single_bad_order_id_is_rejected_with_the_panels_sentence(panel, jap):
    answer(panel, {"error": "Incorrect order ID"}, action="status", order="99")
    with pytest.raises(ProviderRejected) as caught:
        jap.status(99)
    assert caught.value.message == "Incorrect order ID"


@pytest.mark.parametrize("body", [{"charge": "1"}, {"status": 3}])
def test_a_status_without_a_readable_state_is_not_understood(panel, jap, body):
    answer(panel, body, action="status", order="1")
    with pytest.raises(ProviderOutcomeUnknown):
        jap.status(1)


def test_a_field_that_is_not_a_number_is_left_empty_and_said_not_the_whole_answer_lost(panel, jap):
    body = {"status": "In progress", "charge": "0.5", "remains": "lots", "start_count": [1], "orders": ["x"]}
    answer(panel, body, action="status", order="1")
    status = jap.status(1)
    assert (status.status, status.charge, status.remains, status.start_count, status.orders) == (
        "In progress",
        Decimal("0.5"),
        None,
        None,
        (),
    )
    assert status.problems == (
        "the start count [1] is not valid",
        "the remains 'lots' is not valid",
        "the orders ['x'] is not valid",
    )


def test_one_order_answered_in_a_shape_not_understood_is_that_orders_error_not_the_batchs(panel, jap):
    answer(panel, {"1": "Completed", "2": {"status": "Pending"}}, action="status", orders="1,2")
    answers = jap.statuses([1, 2])
    assert answers[1] == ItemError(
        "unrecognised status answer: expected an order status as a JSON object, got str"
    )
    assert answers[2].status == "Pending"


def test_panel_strings_are_kept_to_one_short_line(panel, jap):
    answer(panel, {"status": "In\nprogress " + "x" * 500, "currency": "U" * 200}, action="status", order="1")
    status = jap.status(1)
    assert status.status.startswith("In progress xxx") and len(status.status) == 50
    assert len(status.currency) == 50


def test_an_order_id_beyond_64_bits_is_no_id_and_the_outcome_unknown(panel, jap):
    answer(panel, {"order": 2**64}, action="add", service="1", link="https://x", quantity="10")
    with pytest.raises(ProviderOutcomeUnknown, match="may have been placed"):
        jap.add(1, link="https://x", quantity=10)


# §1.6 refill and refill_status ---------------------------------------------------------------


def test_a_single_refill_id_sent_as_a_string_is_an_int(panel, jap):
    answer(panel, {"refill": "1"}, action="refill", order="1")
    assert jap.refill(1) == 1


def test_multi_refill_answers_ids_or_per_order_errors(panel, jap):
    body = [
        {"order": 1, "refill": 1},
        {"order": 2, "refill": "2"},
        {"order": 3, "refill": {"error": "Incorrect order ID"}},
    ]
    answer(panel, body, action="refill", orders="1,2,3")
    assert jap.refills([1, 2, 3]) == {1: 1, 2: 2, 3: ItemError("Incorrect order ID")}


def test_a_refusal_of_a_single_refill_is_rejected(panel, jap):
    answer(panel, {"error": "Refill is disabled for this service"}, action="refill", order="1")
    with pytest.raises(ProviderRejected, match="^Refill is disabled for this service$"):
        jap.refill(1)


def test_a_single_refill_status_is_a_string(panel, jap):
    answer(panel, {"status": "Completed"}, action="refill_status", refill="1")
    assert jap.refill_status(1) == "Completed"


def test_multi_refill_status_answers_states_or_per_refill_errors(panel, jap):
    body = [{"refill": 1, "status": "Completed"}, {"refill": "2", "status": "Rejected"},
            {"refill": 3, "status": {"error": "Refill not found"}}]  # fmt: skip
    answer(panel, body, action="refill_status", refills="1,2,3")
    assert jap.refill_statuses([1, 2, 3]) == {1: "Completed", 2: "Rejected", 3: ItemError("Refill not found")}


# §1.7 cancel ---------------------------------------------------------------------------------


def test_cancel_answers_per_order_with_one_for_accepted(panel, jap):
    answer(
        panel,
        [{"order": 9, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1}],
        action="cancel",
        orders="9,2",
    )
    assert jap.cancel([9, 2]) == {9: ItemError("Incorrect order ID"), 2: True}


def test_cancel_tolerates_a_string_one_and_a_bare_translation_key(panel, jap):
    answer(
        panel,
        [{"order": 1, "cancel": "1"}, {"order": 2, "cancel": "error.incorrect_order_id"}],
        action="cancel",
        orders="1,2",
    )
    assert jap.cancel([1, 2]) == {1: True, 2: ItemError("error.incorrect_order_id")}


def test_a_cancel_answer_that_is_not_a_list_is_not_understood(panel, jap):
    answer(panel, {"order": 1, "cancel": 1}, action="cancel", orders="1")
    with pytest.raises(ProviderOutcomeUnknown):
        jap.cancel([1])


# §1.8 balance --------------------------------------------------------------------------------


def test_the_balance_is_an_exact_decimal_with_its_currency(panel, jap):
    answer(panel, {"balance": "100.84292", "currency": "USD"}, action="balance")
    assert jap.balance() == Balance(amount=Decimal("100.84292"), currency="USD")


def test_a_balance_without_a_currency_is_not_understood(panel, jap):
    answer(panel, {"balance": "1.00"}, action="balance")
    with pytest.raises(ProviderOutcomeUnknown):
        jap.balance()


# §1.9 error sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Invalid API key",
        "Incorrect request",
        "Incorrect service ID",
        "Not enough funds on balance",
        "neworder.error.not_enough_funds",
        "You have active order with this link. Please wait until order being completed.",
        "Quantity less than minimal 200",
        "Your account has been suspended.",
    ],
)
def test_an_add_refused_by_the_panel_is_rejected_with_its_sentence(panel, jap, sentence):
    answer(panel, {"error": sentence}, action="add", service="1", link="https://x", quantity="10")
    with pytest.raises(ProviderRejected) as caught:
        jap.add(1, link="https://x", quantity=10)
    assert (caught.value.message, str(caught.value), caught.value.action) == (sentence, sentence, "add")


def test_an_error_answered_with_a_4xx_status_is_still_a_rejection(panel, jap):
    panel.post(API_URL, json={"error": "Invalid API key"}, status=401)
    with pytest.raises(ProviderRejected, match="Invalid API key"):
        jap.balance()


def test_a_multi_call_failing_midway_keeps_what_the_earlier_chunks_answered(panel, jap):
    panel.post(API_URL, json=[{"order": i, "cancel": 1} for i in range(1, 101)])
    panel.post(API_URL, body="<html>Bad gateway</html>", status=502, content_type="text/html")
    with pytest.raises(ProviderOutcomeUnknown, match="HTTP 502") as caught:
        jap.cancel(range(1, 251))
    assert caught.value.partial_results == {i: True for i in range(1, 101)}
    assert len(panel.calls) == 2
