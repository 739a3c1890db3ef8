"""/api/v2 through Django's test client: keys, roles, the order form's rules, retries, limits."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from api.models import ApiKey, ApiOrder
from api.services import api_key_use
from audit.models import AuditAction, AuditEntry
from catalog.models import Service, ShortlistEntry, ShortlistRule, TeamPolicy
from orders.forms import OrderForm
from orders.models import Order, OrderStatus, Submission
from tests.factories import link

pytestmark = pytest.mark.django_db(transaction=True)


def add(call, token, service, number=1, **extra):
    return call(token, "add", service=service.pk, link=link(number), quantity=100, **extra)


def test_an_unknown_revoked_or_expired_key_is_an_invalid_api_key(call, key_of, people):
    revoked = key_of("buyer")
    ApiKey.objects.filter(pk=revoked.key.pk).update(revoked_at=timezone.now())
    expired = key_of("buyer", expires_at=timezone.now() - timedelta(seconds=1))
    deactivated = key_of("other_buyer")
    people["other_buyer"].is_active = False
    people["other_buyer"].save()

    for token in ("", "jpk_nothing", revoked.token, expired.token, deactivated.token, "x" * 5000):
        assert call(token, "balance") == {"error": "Invalid API key"}


def test_only_a_digest_and_a_prefix_of_the_key_are_stored(key_of):
    made = key_of("buyer")
    stored = ApiKey.objects.get(pk=made.key.pk)

    assert made.token.startswith(stored.prefix) and len(stored.prefix) == 12
    assert made.token not in str(list(ApiKey.objects.values()))


def test_an_unknown_action_is_an_incorrect_request(call, key_of):
    assert call(key_of("buyer").token, "fly") == {"error": "Incorrect request"}


def test_services_are_the_active_catalog_with_our_ids_and_the_providers_currency(
    call, key_of, panel_followers, followers
):
    Service.objects.filter(pk=followers.pk).update(active=False)

    answer = call(key_of("viewer").token, "services")

    assert [item["service"] for item in answer] == [panel_followers.pk]
    item = answer[0]
    assert list(item) == [
        *("service", "name", "type", "rate", "min", "max"),
        *("dripfeed", "refill", "cancel", "category", "currency"),
    ]
    assert item["currency"] == "USD" and Decimal(item["rate"]) == panel_followers.rate


def test_under_the_shortlist_only_policy_a_buyer_sees_the_shortlist_and_an_approver_everything(
    call, key_of, panel, catalog, panel_followers
):
    other = catalog("Default", provider=panel, category__startswith="Instagram Likes")
    ShortlistEntry.objects.create(service=panel_followers, house_name="Followers")
    TeamPolicy(shortlist_rule=ShortlistRule.ONLY).save()

    assert [item["service"] for item in call(key_of("buyer").token, "services")] == [panel_followers.pk]
    seen = {item["service"] for item in call(key_of("approver").token, "services")}
    assert {panel_followers.pk, other.pk} <= seen
    refused = add(call, key_of("buyer").token, other)
    assert "not on the team's shortlist" in refused["error"]


def test_add_places_an_order_as_the_order_form_does_owned_by_the_key_and_audited_with_its_name(
    call, key_of, people, panel_followers
):
    key = key_of("buyer")

    answer = add(call, key.token, panel_followers)

    order = Order.objects.get()
    assert answer == {"order": order.pk}
    assert (order.user, order.campaign, order.status) == (people["buyer"], None, OrderStatus.QUEUED)
    assert order.api_order.key == key.key
    entry = AuditEntry.objects.get(action=AuditAction.ORDER_PLACED)
    assert entry.actor == people["buyer"]
    assert f"API key “buyer's script” ({key.key.prefix}…)" in entry.note
    assert key.token not in str(list(AuditEntry.objects.values()))


def test_a_refused_add_answers_the_sentence_a_person_would_see(call, key_of, panel_followers):
    token = key_of("buyer").token

    too_few = call(token, "add", service=panel_followers.pk, link=link(), quantity=1)
    bad_link = call(token, "add", service=panel_followers.pk, link="not a link", quantity=100)
    no_service = call(token, "add", service=999999, link=link(), quantity=100)

    assert set(too_few) == {"error"} and str(panel_followers.min_quantity) in too_few["error"]
    assert set(bad_link) == {"error"} and bad_link["error"].startswith("Link:")
    assert no_service == {"error": "Incorrect service ID"}
    assert not Order.objects.exists()


def test_a_viewers_key_reads_but_may_not_place_refill_or_cancel(call, key_of, people, panel_followers):
    order = Order.objects.get(pk=add(call, key_of("buyer").token, panel_followers)["order"])
    token = key_of("viewer").token

    assert call(token, "add", service=panel_followers.pk, link=link(2), quantity=100) == {
        "error": "Your role may not place orders: ask a manager for the Buyer role."
    }
    assert call(token, "status", order=order.pk)["status"] == "Pending"
    assert call(token, "cancel", orders=order.pk) == [
        {"order": order.pk, "cancel": {"error": "Your role may not refill or cancel this order."}}
    ]
    assert "balance" in call(token, "balance")
    assert Order.objects.count() == 1


def test_the_same_add_by_the_same_key_within_a_minute_returns_the_earlier_order(
    call, key_of, panel_followers
):
    key = key_of("buyer")
    first = add(call, key.token, panel_followers)

    assert add(call, key.token, panel_followers) == first
    assert add(call, key_of("other_buyer").token, panel_followers) != first
    ApiOrder.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    assert add(call, key.token, panel_followers) != first
    assert Order.objects.count() == 3


def test_a_retry_sent_while_the_first_try_still_runs_waits_for_it_and_gets_its_order(
    key_of, panel_followers, monkeypatch
):
    token = key_of("buyer").token
    place = OrderForm.place

    def slow_place(form, **kwargs):
        threading.Event().wait(0.3)  # widen the race: the retry arrives while this one places
        return place(form, **kwargs)

    monkeypatch.setattr(OrderForm, "place", slow_place)
    start = threading.Barrier(2)
    answers: list[object] = []

    def post() -> None:
        try:
            start.wait()
            payload = {
                "key": token,
                "action": "add",
                "service": panel_followers.pk,
                "link": link(),
                "quantity": 100,
            }
            answers.append(Client().post("/api/v2", payload).json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(answers) == 2 and answers[0] == answers[1] == {"order": Order.objects.get().pk}


def test_an_idempotency_key_always_answers_its_order_and_refuses_other_fields(call, key_of, panel_followers):
    token = key_of("buyer").token
    first = add(call, token, panel_followers, idempotency_key="run-7")
    ApiOrder.objects.update(created_at=timezone.now() - timedelta(days=1))

    assert add(call, token, panel_followers, idempotency_key="run-7") == first
    assert Submission.objects.get().order_ids == [first["order"]]
    other = add(call, token, panel_followers, number=2, idempotency_key="run-7")
    sentence = (
        f"This idempotency_key placed order {first['order']} with other fields: nothing more was placed."
    )
    assert other == {"error": sentence}
    assert Order.objects.count() == 1


def test_status_maps_our_statuses_and_counts_the_charge_as_budgets_do(call, key_of, panel_followers):
    token = key_of("buyer").token
    ids = [add(call, token, panel_followers, number=n)["order"] for n in range(1, 5)]
    Order.objects.filter(pk=ids[1]).update(status=OrderStatus.UNCONFIRMED)
    Order.objects.filter(pk=ids[2]).update(status=OrderStatus.DECLINED)
    Order.objects.filter(pk=ids[3]).update(
        status=OrderStatus.PARTIAL, charge=Decimal("0.12"), start_count=40, remains=30
    )
    estimate = Order.objects.get(pk=ids[0]).estimated_charge

    answer = call(token, "status", orders=",".join(map(str, [*ids, 0, "x"])))

    pending = {"charge": f"{estimate:.5f}", "start_count": "", "status": "Pending", "remains": "100"}
    assert answer[str(ids[0])] == {**pending, "currency": "USD"}
    assert answer[str(ids[1])]["status"] == "Processing"
    assert (answer[str(ids[2])]["status"], answer[str(ids[2])]["charge"]) == ("Canceled", "0.00000")
    partial = {"charge": "0.12000", "start_count": "40", "status": "Partial", "remains": "30"}
    assert answer[str(ids[3])] == {**partial, "currency": "USD"}
    assert answer["0"] == answer["x"] == {"error": "Incorrect order ID"}
    assert call(token, "status", order=999999) == {"error": "Incorrect order ID"}
    too_many = call(token, "status", orders=",".join(str(n) for n in range(1, 102)))
    assert too_many == {"error": "Too many IDs, the limit is 100 per request"}


def test_refill_and_cancel_refuse_an_order_not_ready_with_the_pages_sentences(call, key_of, panel_followers):
    token = key_of("buyer").token
    order = add(call, token, panel_followers)["order"]

    assert call(token, "refill", order=order) == {
        "error": "Only a completed or partial order can be refilled."
    }
    assert call(token, "refill", orders=f"{order},0") == [
        {"order": order, "refill": {"error": "Only a completed or partial order can be refilled."}},
        {"order": 0, "refill": {"error": "Incorrect order ID"}},
    ]
    assert call(token, "cancel", orders=order) == [
        {"order": order, "cancel": {"error": "Only an order in progress at the provider can be canceled."}}
    ]
    assert call(token, "refill_status", refill=5) == {"error": "Refill not found"}


def test_a_buyer_may_not_act_on_someone_elses_order(call, key_of, panel_followers):
    order = add(call, key_of("buyer").token, panel_followers)["order"]

    assert call(key_of("other_buyer").token, "cancel", orders=order) == [
        {"order": order, "cancel": {"error": "Your role may not refill or cancel this order."}}
    ]


def test_balance_is_the_tightest_of_the_persons_budget_and_the_providers(
    call, key_of, people, budget_of, panel, panel_followers
):
    token = key_of("buyer").token
    budget_of(people["buyer"], "50")
    order = Order.objects.get(pk=add(call, token, panel_followers)["order"])

    assert call(token, "balance") == {
        "balance": f"{Decimal(50) - order.estimated_charge:.5f}",
        "currency": "USD",
    }
    panel.balance = Decimal("3.5")
    panel.save()
    assert call(token, "balance") == {"balance": "3.50000", "currency": "USD"}
    assert call(key_of("other_buyer").token, "balance") == {"balance": "3.50000", "currency": "USD"}


def test_a_budget_refusal_reaches_the_client_as_its_sentence(
    call, key_of, people, budget_of, panel_followers
):
    budget_of(people["buyer"], "0.01")

    answer = add(call, key_of("buyer").token, panel_followers)

    assert "your budget" in answer["error"]
    assert not Order.objects.exists()


def test_past_the_rate_limit_a_key_gets_http_429_with_a_json_error(client, key_of, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    key = key_of("buyer")
    ApiKey.objects.filter(pk=key.key.pk).update(window_start=timezone.now(), window_count=2)

    response = client.post("/api/v2", {"key": key.token, "action": "balance"})

    assert response.status_code == 429
    assert response.json() == {
        "error": "Too many requests: the limit is 2 a minute per key. Try again in a minute."
    }
    assert response["Retry-After"] == "60"


def test_the_rate_limit_window_lasts_a_minute_from_its_first_request(key_of, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    key = key_of("buyer").key
    start = timezone.now()

    assert [api_key_use(key=key, ip="10.0.0.1", now=start + timedelta(seconds=s)) for s in (0, 30, 59)] == [
        True,
        True,
        False,
    ]
    assert api_key_use(key=key, ip="10.0.0.2", now=start + timedelta(seconds=61))
    key.refresh_from_db()
    assert (key.window_count, key.last_used_ip) == (1, "10.0.0.2")


def test_each_request_notes_when_and_from_where_the_key_was_last_used(call, key_of):
    key = key_of("buyer")

    call(key.token, "balance")

    key.key.refresh_from_db()
    assert key.key.last_used_ip == "127.0.0.1" and key.key.last_used_at is not None


def test_a_request_over_the_size_limit_is_refused_with_http_413(client, key_of, settings):
    settings.API_MAX_REQUEST_BYTES = 1024
    body = f"key={key_of('buyer').token}&action=add&comments={'x' * 2000}"

    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response.json() == {"error": "Request too large"}


def test_get_and_json_bodies_are_read_like_the_sandbox_reads_them(client, key_of):
    token = key_of("buyer").token

    by_get = client.get("/api/v2", {"key": token, "action": "balance"}).json()
    by_json = client.post(
        "/api/v2", {"key": token, "action": "balance"}, content_type="application/json"
    ).json()

    assert "balance" in by_get and by_get == by_json


def test_the_key_reaches_no_log_line_even_in_a_query_string(client, key_of, panel_followers, caplog):
    token = key_of("buyer").token

    with caplog.at_level("DEBUG"):
        client.get("/api/v2", {"key": token, "action": "status", "order": 1})
        client.post("/api/v2", {"key": token, "action": "add", "service": panel_followers.pk, "link": link()})

    assert caplog.records and token not in caplog.text


def test_a_malformed_length_or_too_many_fields_get_a_json_error_never_a_server_error(client, key_of):
    token = key_of("buyer").token
    many = "&".join(f"f{n}=1" for n in range(1500))

    odd_length = client.post("/api/v2", {"key": token, "action": "balance"}, CONTENT_LENGTH="lots")
    too_many = client.post(
        "/api/v2", f"key={token}&action=balance&{many}", content_type="application/x-www-form-urlencoded"
    )

    assert odd_length.status_code == 200 and odd_length.json() == {"error": "Invalid API key"}
    assert too_many.status_code == 400 and too_many.json() == {"error": "Incorrect request"}
