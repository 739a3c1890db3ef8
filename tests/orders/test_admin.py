"""The orders admin: filters, search, bounded queries, CSV export and the three actions."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import EventKind, Order, OrderStatus, Refill

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = reverse("admin:orders_order_changelist")


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=pending",
        "?needs_attention__exact=1",
        "?service__platform__exact=instagram",
        "?q=instagram.com",
        "?q=12345",
        "?created_at__year=2026",
    ],
)
def test_the_order_list_filters_and_searches_with_a_bounded_number_of_queries(
    admin_client, followers, open_orders, django_assert_max_num_queries, query
):
    open_orders(followers, 30)
    with django_assert_max_num_queries(12):
        response = admin_client.get(CHANGELIST + query)
    assert response.status_code == 200


def test_searching_by_code_finds_the_order(admin_client, followers, open_orders):
    order, other = open_orders(followers, 2)
    response = admin_client.get(CHANGELIST, {"q": order.code})
    assert order.code in response.text and other.code not in response.text


def test_the_order_page_shows_events_and_refills(admin_client, followers, open_orders):
    (order,) = open_orders(followers, 1)
    order.events.create(
        kind=EventKind.STATUS, from_status="queued", to_status="pending", message="hello event"
    )
    Refill.objects.create(order=order, provider_refill_id=77, error="")
    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    assert "hello event" in response.text and "77" in response.text
    assert 'name="resolution"' not in response.text  # only unconfirmed orders can be resolved


def test_csv_export_of_a_selection(admin_client, followers, open_orders):
    first, second, _ = open_orders(followers, 3)
    response = admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [first.pk, second.pk]}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert {row["code"] for row in rows} == {first.code, second.code}
    assert rows[0]["provider"] == "Sandbox" and rows[0]["status"] == "pending"


def test_the_csv_export_of_a_selection_writes_a_link_that_looks_like_a_formula_as_text(
    admin_client, followers, open_orders
):
    (order,) = open_orders(followers, 1)
    Order.objects.filter(pk=order.pk).update(link="@SUM(1+1)*cmd|' /C calc'!A0")
    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [order.pk]})
    (row,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert row["link"] == "'@SUM(1+1)*cmd|' /C calc'!A0"


def test_check_status_now_action_records_the_request(admin_client, admin_user, followers, open_orders):
    (order,) = open_orders(followers, 1)
    Order.objects.filter(pk=order.pk).update(next_check_at=None)
    admin_client.post(CHANGELIST, {"action": "check_status_now", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.next_check_at is not None
    assert order.events.get(kind=EventKind.CHECK).user == admin_user


def test_request_refill_action_skips_orders_that_cannot_be_refilled(admin_client, followers, open_orders):
    (order,) = open_orders(followers, 1)  # still pending: no refill yet
    response = admin_client.post(
        CHANGELIST, {"action": "request_refill", "_selected_action": [order.pk]}, follow=True
    )
    assert "1 order(s) skipped" in response.text
    assert not Refill.objects.exists()


def test_an_unconfirmed_order_is_resolved_from_its_admin_page(
    admin_client, admin_user, followers, open_orders
):
    (order,) = open_orders(followers, 1)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNCONFIRMED, provider_order_id=None)
    response = admin_client.post(
        CHANGELIST, {"action": "resolve_unconfirmed", "_selected_action": [order.pk]}
    )
    change_url = reverse("admin:orders_order_change", args=[order.pk])
    assert response.status_code == 302 and response["Location"] == change_url
    assert 'name="resolution"' in admin_client.get(change_url).text

    admin_client.post(change_url, {"resolution": "placed", "resolved_provider_order_id": "555", **inlines()})

    order.refresh_from_db()
    assert (order.status, order.provider_order_id) == (OrderStatus.PENDING, 555)
    assert order.events.get(kind=EventKind.RESOLVED).user == admin_user


def test_resolve_is_refused_for_an_order_that_is_not_unconfirmed(admin_client, followers, open_orders):
    (order,) = open_orders(followers, 1)
    response = admin_client.post(
        CHANGELIST, {"action": "resolve_unconfirmed", "_selected_action": [order.pk]}, follow=True
    )
    assert "Select one unconfirmed order" in response.text


def inlines() -> dict[str, str]:
    management = {}
    for prefix in ("events", "refills", "cancel_requests"):
        management.update(
            {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
        )
    return management


@pytest.mark.parametrize("name", ["refill", "orderevent", "cancelrequest"])
def test_the_refill_event_and_cancel_lists_load(admin_client, followers, open_orders, name):
    (order,) = open_orders(followers, 1)
    Refill.objects.create(order=order, provider_refill_id=1)
    order.events.create(kind=EventKind.CHECK)
    assert admin_client.get(reverse(f"admin:orders_{name}_changelist")).status_code == 200


def test_not_even_a_superuser_can_delete_an_order_or_its_history(admin_client, followers, open_orders):
    # Deleting an order would take its spend out of every budget and its events out of the record.
    order = open_orders(followers, 1)[0]
    Refill.objects.create(order=order, provider_refill_id=1)
    order.events.create(kind=EventKind.CREATED, from_status=order.status, to_status=order.status)
    records = [
        ("orders_order", order),
        ("orders_orderevent", order.events.first()),
        ("orders_refill", order.refills.get()),
    ]
    for name, obj in records:
        assert admin_client.get(reverse(f"admin:{name}_delete", args=[obj.pk])).status_code == 403, name
        assert (
            admin_client.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code
            == 403
        )
        bulk = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        admin_client.post(reverse(f"admin:{name}_changelist"), bulk)
        assert type(obj).objects.filter(pk=obj.pk).exists(), name
    assert Order.objects.filter(pk=order.pk, events__isnull=False, refills__isnull=False).exists()
