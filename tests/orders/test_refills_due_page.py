"""The Refills due page: its list, filters in the URL, pages, CSV and the bulk request."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from catalog.refill import LIFETIME
from catalog.services import service_refill_correct
from jappanel.web.pagination import PAGE_SIZE
from orders.models import Order, Refill, RefillStatus
from orders.services.guarantees import refills_due
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.services import refill_create
from team.models import Campaign
from tests.orders.conftest import days_ago

pytestmark = pytest.mark.django_db(transaction=True)
DUE_URL = reverse("orders:refill_due_list")
REQUEST_URL = reverse("orders:refill_due_request")
HTMX = {"HX-Request": "true", "HX-Target": "due-table"}


@pytest.fixture
def person(client, admin_user):
    client.force_login(admin_user)
    return admin_user


def test_an_empty_list_says_what_would_appear_here(client, person, sandbox):
    page = client.get(DUE_URL)
    assert page.status_code == 200
    assert "No refill due" in page.text
    filtered = client.get(DUE_URL, {"campaign": 9, "days": 3})
    assert "No order due a refill matches" in filtered.text


def test_due_orders_are_listed_soonest_first_and_filtered_by_the_url(
    client, person, finish, thirty_days, catalog, clock
):
    spring = Campaign.objects.create(name="Spring")
    ninety = catalog("Default", name__contains="[Refill: 90D]", category__startswith="Instagram Followers")
    (late,) = days_ago(finish(ninety, 1, first=1, campaign=spring), 3, clock)
    (soon,) = days_ago(finish(thirty_days, 1, first=2), 3, clock)

    page = client.get(DUE_URL)
    assert page.status_code == 200
    assert page.text.index(soon.code) < page.text.index(late.code)
    assert 'name="order" value="' + soon.code in page.text  # a day past completion: selectable

    campaign_only = client.get(DUE_URL, {"campaign": spring.pk}, headers=HTMX)
    assert late.code in campaign_only.text and soon.code not in campaign_only.text
    assert "<html" not in campaign_only.text  # the table alone, for htmx


def test_an_order_completed_less_than_a_day_ago_is_listed_but_not_selectable(
    client, person, finish, thirty_days
):
    (young,) = finish(thirty_days, 1)
    page = client.get(DUE_URL)
    assert young.code in page.text
    assert 'value="' + young.code not in page.text
    assert "from " in page.text


@pytest.mark.parametrize(
    "query",
    [
        {"days": "0"},
        {"days": "100000"},
        {"days": "x"},
        {"campaign": "9" * 30},
        {"later": "garbage"},
        {"platform": "?"},
    ],
)
def test_bad_filters_never_break_the_page(client, person, sandbox, query):
    assert client.get(DUE_URL, query).status_code == 200
    assert client.get(reverse("orders:refill_due_export"), query).status_code == 200


def test_pages_follow_each_other_by_expiry_without_gaps(client, person, finish, thirty_days, catalog, clock):
    orders = days_ago(finish(thirty_days, PAGE_SIZE + 3), 2, clock)
    service_refill_correct(service=thirty_days, days=LIFETIME, user=person)  # lifetime sorts last
    first = client.get(DUE_URL)
    cursor = first.context["page"].older
    assert cursor and len(first.context["page"].rows) == PAGE_SIZE
    second = client.get(DUE_URL, {"later": cursor})
    rows = first.context["page"].rows + second.context["page"].rows
    assert sorted(o.pk for o in rows) == sorted(o.pk for o in orders)
    assert [o.refill_until for o in rows] == sorted(o.refill_until for o in rows)
    back = client.get(DUE_URL, {"sooner": second.context["page"].newer})
    assert [o.pk for o in back.context["page"].rows] == [o.pk for o in first.context["page"].rows]


def test_the_page_reads_a_bounded_number_of_queries(
    client, person, finish, thirty_days, clock, django_assert_max_num_queries
):
    days_ago(finish(thirty_days, 20), 2, clock)
    with django_assert_max_num_queries(12):
        client.get(DUE_URL)


def test_the_csv_lists_the_due_orders_with_their_windows(client, person, finish, thirty_days, clock):
    (order,) = days_ago(finish(thirty_days, 1), 2, clock)
    response = client.get(reverse("orders:refill_due_export"))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][:3] == ["code", "campaign", "provider"]
    assert rows[1][0] == order.code
    assert "refill guarantee until" in rows[0]


def test_a_bulk_request_asks_the_eligible_and_reports_each_outcome(
    client, person, finish, thirty_days, clock, panel_calls
):
    orders = days_ago(finish(thirty_days, 3), 2, clock)
    refill_create(order=SandboxOrder.objects.get(pk=orders[0].provider_order_id))
    (young,) = finish(thirty_days, 1, first=9)
    panel_calls.calls.clear()

    response = client.post(
        REQUEST_URL, {"order": [o.code for o in [*orders, young]], "next": DUE_URL + "?days=3"}, follow=True
    )

    assert response.redirect_chain[-1][0] == DUE_URL + "?days=3"
    text = response.text
    assert "2 refills requested" in text
    assert "1 refused by the panel (The refill task is not completed for this order)" in text
    assert "1 of the 4 selected not asked" in text
    assert panel_calls.calls == [("refill", 3)]
    assert Refill.objects.get(order=orders[0]).status == RefillStatus.REFUSED
    assert not Refill.objects.filter(order=young).exists()
    # Asked: none of them is due any more (pending, or refused within the last days).
    assert not refills_due().filter(pk__in=[o.pk for o in orders]).exists()


def test_a_bulk_request_with_nothing_selected_says_so(client, person, sandbox):
    response = client.post(REQUEST_URL, {}, follow=True)
    assert "Select at least one order." in response.text


def test_a_buyer_may_not_ask_refills_of_others_orders(client, finish, thirty_days, clock, django_user_model):
    from django.contrib.auth.models import Group, Permission

    (order,) = days_ago(finish(thirty_days, 1), 2, clock)
    buyer = django_user_model.objects.create_user("buyer", password="x")
    group = Group.objects.create(name="Refill viewers")
    group.permissions.add(
        *Permission.objects.filter(codename__in=["view_refill", "view_order", "act_on_own_order"])
    )
    buyer.groups.add(group)
    client.force_login(buyer)
    assert client.post(REQUEST_URL, {"order": [order.code]}).status_code == 403
    assert not Refill.objects.filter(order=order).exists()
    assert Order.objects.get(pk=order.pk).refill_until is not None


def test_an_orders_page_shows_its_refill_guarantee(client, person, finish, thirty_days):
    (order,) = finish(thirty_days, 1)
    page = client.get(reverse("orders:order_detail", args=[order.code]))
    assert "Refill guarantee" in page.text and "30 days, until" in page.text and "refills from" in page.text


def test_a_manager_corrects_a_services_refill_period_in_its_panel(client, person, thirty_days):
    url = reverse("catalog:service_refill", args=[thirty_days.pk])
    bad = client.post(url, {"kind": "days", "days": ""})
    assert bad.status_code == 200 and "How many days does the guarantee last?" in bad.text
    assert client.post(url, {"kind": "days", "days": "99999"}).status_code == 200
    response = client.post(url, {"kind": "days", "days": "45"}, follow=True)
    assert "Refill guarantee: 45 days." in response.text
    assert "set by a manager; the panel's data says 30 days" in response.text
    thirty_days.refresh_from_db()
    assert thirty_days.refill_days_override == 45
    client.post(url, {"kind": "panel"})
    thirty_days.refresh_from_db()
    assert thirty_days.refill_days_override is None
