"""The orders pages through the Django test client, against the in-process sandbox."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from catalog.platforms import Platform
from jappanel.web import csv as web_csv
from jappanel.web.csv import CsvExportAborted
from jappanel.web.money import money
from jappanel.web.pagination import PAGE_SIZE
from orders.models import EventKind, Order, OrderStatus, Refill
from orders.services.placing import order_place
from orders.services.submitting import order_submit
from orders.services.tracking import orders_poll_round
from providers.models import Provider
from team.models import Campaign
from tests.factories import PlainServiceFactory, a_provider, link
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db(transaction=True)
LIST_URL = reverse("orders:order_list")
NEW_URL = reverse("orders:order_create")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def person(client, admin_user):
    client.force_login(admin_user)
    return admin_user


def make(service, number: int = 1, **fields) -> Order:
    """A saved order, as the form leaves it (queued, not sent), then with `fields` written over."""
    order = order_place(service=service, link=link(number), quantity=100, enqueue=False)
    if fields:
        Order.objects.filter(pk=order.pk).update(**fields)
        order.refresh_from_db()
    return order


def sent(service, clock, *, finished: bool = False, number: int = 1) -> Order:
    """An order the sandbox accepted; `finished`: and followed until the sandbox finished it."""
    order = order_submit(order_id=make(service, number).pk)
    if finished:
        clock.advance(simulated=True, days=3)
        orders_poll_round(now=timezone.now() + timedelta(days=1))
    order.refresh_from_db()
    return order


def codes_listed(response) -> list[str]:
    return re.findall(r'<a class="code" href="/orders/([A-Z0-9]+)/">', response.content.decode())


# New order ------------------------------------------------------------------------------------------


def test_the_new_order_page_walks_from_platform_to_category_to_service(client, person, followers):
    page = client.get(NEW_URL)
    assert page.status_code == 200
    assert '<option value="instagram"' in page.content.decode()

    categories = client.get(
        NEW_URL, {"platform": "instagram"}, headers={**HTMX, "HX-Target": "order-builder"}
    )
    assert followers.category in categories.content.decode()
    assert "<html" not in categories.content.decode()

    services = client.get(NEW_URL, {"platform": "instagram", "category": followers.category})
    assert f'<option value="{followers.pk}"' in services.content.decode()


def test_a_service_link_from_the_catalog_opens_its_form_with_the_fields_of_its_type(client, person, catalog):
    followers = catalog("Default", category__startswith="Instagram Followers", dripfeed=True)
    comments = catalog("Custom Comments")

    dripfeed = client.get(NEW_URL, {"service": followers.pk}).content.decode()
    assert 'name="quantity"' in dripfeed and 'name="runs"' in dripfeed and 'name="interval"' in dripfeed
    assert 'name="submission_token"' in dripfeed

    custom = client.get(NEW_URL, {"service": comments.pk}).content.decode()
    assert 'name="comments"' in custom and 'name="quantity"' not in custom
    assert 'id="count-comments"' in custom


def test_searching_finds_services_by_name_or_id(client, person, followers):
    by_name = client.get(NEW_URL, {"q": "followers"}).content.decode()
    assert f"?service={followers.pk}" in by_name
    by_id = client.get(NEW_URL, {"q": f"#{followers.service_id}"}).content.decode()
    assert f"?service={followers.pk}" in by_id
    assert "No active service matches" in client.get(NEW_URL, {"q": "zzz-nothing"}).content.decode()


def test_placing_an_order_queues_it_and_lands_on_its_page(client, person, followers):
    data = {"service": followers.pk, "link": link(), "quantity": "150", "submission_token": "tok-1"}
    response = client.post(NEW_URL, data)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:order_detail", args=[order.code])
    assert order.status == OrderStatus.QUEUED and order.quantity == 150 and order.user == person


def test_the_same_form_posted_twice_makes_one_order(client, person, followers):
    data = {"service": followers.pk, "link": link(), "quantity": "150", "submission_token": "tok-twice"}
    first = client.post(NEW_URL, data)
    second = client.post(NEW_URL, data)

    assert Order.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_an_htmx_post_answers_with_the_location_of_the_order(client, person, followers):
    data = {"service": followers.pk, "link": link(), "quantity": "150", "submission_token": "tok-htmx"}
    response = client.post(NEW_URL, data, headers={**HTMX, "HX-Target": "order-builder"})

    order = Order.objects.get()
    assert json.loads(response["HX-Location"])["path"] == f"/orders/{order.code}/"


def test_bad_input_is_shown_beside_its_field_and_nothing_is_ordered(client, person, followers):
    data = {
        "service": followers.pk,
        "link": "https://youtube.com/watch?v=x",
        "quantity": "5",
        "submission_token": "t",
    }
    response = client.post(NEW_URL, data, headers={**HTMX, "HX-Target": "order-builder"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "expected a link on instagram.com, got youtube.com." in body
    assert 'class="field invalid' in body
    assert Order.objects.count() == 0


def test_an_order_beyond_the_balance_says_how_much_is_missing(client, person, followers):
    followers.provider.balance = Decimal("0.05")
    followers.provider.save()
    data = {"service": followers.pk, "link": link(), "quantity": "1000", "submission_token": "t"}

    body = client.post(NEW_URL, data).content.decode()

    assert "Not enough funds: balance $0.05, this order costs $0.90" in body
    assert Order.objects.count() == 0


def test_the_estimate_follows_the_form_with_the_balance_and_the_line_count(client, person, catalog):
    comments = catalog("Custom Comments")
    comments.provider.balance = Decimal("100")
    comments.provider.save()
    data = {"service": comments.pk, "link": link(), "comments": "one\ntwo\n\nthree", "submission_token": "t"}

    body = client.post(reverse("orders:order_estimate"), data, headers=HTMX).content.decode()

    assert f"<strong>{money(comments.cost(3))}</strong>" in body  # blank lines are not comments
    assert "100.00 USD" in body
    assert '<span id="count-comments" class="line-count" hx-swap-oob="true">3 lines</span>' in body


def test_unknown_services_and_bad_parameters_never_break_the_page(client, person, followers):
    for query in ({"service": "abc"}, {"service": "999999"}, {"platform": "nowhere", "category": "x"}):
        assert client.get(NEW_URL, query).status_code == 200
    assert client.post(NEW_URL, {"service": "abc"}).status_code == 200


# The order page ------------------------------------------------------------------------------------


def test_the_order_page_shows_its_fields_timeline_and_polls_while_it_moves(client, person, followers):
    order = make(followers)

    body = client.get(reverse("orders:order_detail", args=[order.code])).content.decode()

    assert order.code in body and order.link in body
    assert "Created" in body and "Estimated $0.09" in body
    assert f'hx-get="/orders/{order.code}/live/"' in body and "every 5s" in body


def test_a_finished_order_page_stops_polling_and_offers_a_refill(client, person, followers, clock):
    order = sent(followers, clock, finished=True)
    assert order.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)

    body = client.get(reverse("orders:order_live", args=[order.code])).content.decode()

    assert "hx-trigger" not in body
    assert "Request a refill" in body and "Cancel the order" not in body


def test_an_unknown_code_is_a_404_page(client, person):
    assert client.get("/orders/NOSUCHCODE/").status_code == 404
    assert client.post("/orders/NOSUCHCODE/refill/").status_code == 404


def test_an_unconfirmed_order_is_shown_prominently_and_resolved_as_placed(client, person, followers):
    order = make(followers, status=OrderStatus.UNCONFIRMED, last_error="Read timed out after sending")
    url = reverse("orders:order_detail", args=[order.code])

    body = client.get(url).content.decode()
    assert "We do not know whether Sandbox took this order" in body
    assert "Read timed out after sending" in body

    response = client.post(
        reverse("orders:order_resolve", args=[order.code]), {"placed": "yes", "provider_order_id": "4242"}
    )
    assert response["Location"] == url
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and order.provider_order_id == 4242
    assert order.events.filter(kind=EventKind.RESOLVED, user=person).exists()


def test_an_unconfirmed_order_resolved_as_not_placed_is_rejected(client, person, followers):
    order = make(followers, status=OrderStatus.UNCONFIRMED)
    client.post(reverse("orders:order_resolve", args=[order.code]), {"placed": "no"})
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED


def test_resolving_without_a_provider_id_says_so(client, person, followers):
    order = make(followers, status=OrderStatus.UNCONFIRMED)
    response = client.post(
        reverse("orders:order_resolve", args=[order.code]),
        {"placed": "yes", "provider_order_id": "x"},
        follow=True,
    )
    assert "Enter the provider&#x27;s order id." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.UNCONFIRMED


def test_a_refill_requested_from_the_order_page_is_recorded(client, person, followers, clock):
    order = sent(followers, clock, finished=True)
    clock.advance(simulated=True, days=2)

    response = client.post(reverse("orders:order_refill", args=[order.code]), follow=True)

    refill = Refill.objects.get()
    assert refill.order == order and refill.provider_refill_id is not None
    assert "Refill requested." in response.content.decode()


def test_an_action_that_does_not_apply_says_why(client, person, followers):
    order = make(followers)
    response = client.post(reverse("orders:order_refill", args=[order.code]), follow=True)
    assert "Only a completed or partial order can be refilled." in response.content.decode()
    assert not Refill.objects.exists()


def test_cancel_and_check_now_from_the_order_page(client, person, followers, clock):
    order = sent(followers, clock)

    checked = client.post(reverse("orders:order_check", args=[order.code]), follow=True)
    assert "Status check started." in checked.content.decode()
    canceled = client.post(reverse("orders:order_cancel", args=[order.code]), follow=True)
    assert "Cancel" in canceled.content.decode()
    assert order.cancel_requests.count() == 1


# The orders list -----------------------------------------------------------------------------------


def test_the_orders_list_filters_by_status_platform_provider_person_and_dates(
    client, person, followers, catalog
):
    views = catalog("Default", category__startswith="YouTube Views")
    other = get_user_model().objects.create_user("sam")
    done = make(followers, 1, status=OrderStatus.COMPLETED)
    youtube = order_place(
        service=views,
        link="https://youtube.com/watch?v=a",
        quantity=views.min_quantity,
        enqueue=False,
        user=other,
    )
    old = make(followers, 3, created_at=timezone.now() - timedelta(days=40))

    def listed(**query):
        return set(codes_listed(client.get(LIST_URL, query)))

    assert listed() == {done.code, youtube.code, old.code}
    assert listed(status="completed") == {done.code}
    assert listed(status="open") == {youtube.code, old.code}
    assert listed(platform=Platform.YOUTUBE) == {youtube.code}
    assert listed(provider=followers.provider_id) == {done.code, youtube.code, old.code}
    assert listed(person=other.pk) == {youtube.code}
    assert listed(service=views.service_id) == {youtube.code}
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert listed(since=since) == {done.code, youtube.code}
    assert listed(until=since) == {old.code}


def test_the_search_finds_an_order_by_link_code_or_provider_id(client, person, followers):
    first = make(followers, 1, provider_order_id=777001)
    second = make(followers, 2)

    assert codes_listed(client.get(LIST_URL, {"q": "post2"})) == [second.code]
    assert codes_listed(client.get(LIST_URL, {"q": first.code.lower()})) == [first.code]
    assert codes_listed(client.get(LIST_URL, {"q": "777001"})) == [first.code]
    assert "No order matches" in client.get(LIST_URL, {"q": "nothing-like-it"}).content.decode()


def test_pages_follow_one_another_by_keyset_without_overlap(client, person, followers):
    now = timezone.now()
    orders = [make(followers, n, created_at=now - timedelta(minutes=n // 2)) for n in range(PAGE_SIZE + 10)]
    expected = [o.code for o in sorted(orders, key=lambda o: (o.created_at, o.pk), reverse=True)]

    first = client.get(LIST_URL)
    older = re.search(r'href="\?older=([0-9-]+)"', first.content.decode()).group(1)
    second = client.get(LIST_URL, {"older": older})
    newer = re.search(r'href="\?newer=([0-9-]+)"', second.content.decode()).group(1)
    back = client.get(LIST_URL, {"newer": newer})

    assert codes_listed(first) + codes_listed(second) == expected
    assert codes_listed(back) == codes_listed(first)
    assert f"{PAGE_SIZE + 10}</strong> orders" in first.content.decode()


def test_bad_page_parameters_show_the_first_page(client, person, followers):
    order = make(followers)
    for query in (
        {"page": "abc"},
        {"older": "abc"},
        {"newer": "9" * 40 + "-1"},
        {"status": "nope"},
        {"since": "yesterday"},
    ):
        response = client.get(LIST_URL, query)
        assert response.status_code == 200
        assert order.code in codes_listed(response)


def test_the_list_costs_the_same_queries_for_five_or_fifty_orders(
    client, person, followers, django_assert_max_num_queries
):
    for n in range(5):
        make(followers, n)
    # The session is saved on every request (SESSION_IDLE_MINUTES): 3 queries with its savepoint.
    with django_assert_max_num_queries(11):
        client.get(LIST_URL)
    for n in range(5, 50):
        make(followers, n)
    with django_assert_max_num_queries(11):
        client.get(LIST_URL)
    with django_assert_max_num_queries(8):
        client.get(LIST_URL, {"status": "open"}, headers={**HTMX, "HX-Target": "order-table"})


def test_a_filter_request_from_htmx_gets_the_table_only(client, person, followers):
    make(followers)
    body = client.get(
        LIST_URL, {"status": "open"}, headers={**HTMX, "HX-Target": "order-table"}
    ).content.decode()
    assert body.lstrip().startswith('<div id="order-table"')


def test_status_badges_refresh_while_orders_move_and_stop_when_none_does(client, person, followers):
    moving = make(followers, 1)
    done = make(followers, 2, status=OrderStatus.COMPLETED)

    listing = client.get(LIST_URL).content.decode()
    assert f'hx-get="/orders/statuses/?codes={moving.code}"' in listing

    refresh = client.get(
        reverse("orders:order_statuses"), {"codes": f"{moving.code},{done.code}"}, headers=HTMX
    )
    body = refresh.content.decode()
    assert f'id="status-{done.code}" class="badge ok" hx-swap-oob="true"' in body
    assert "every 5s" in body

    Order.objects.filter(pk=moving.pk).update(status=OrderStatus.COMPLETED)
    body = client.get(reverse("orders:order_statuses"), {"codes": moving.code}, headers=HTMX).content.decode()
    assert "hx-trigger" not in body and "Completed" in body


MARK = "Sandbox — no real money"


def test_sandbox_services_and_orders_carry_the_mark_on_every_page_and_real_ones_do_not(
    client, person, followers, clock
):
    real = PlainServiceFactory(provider=a_provider("Panel"))
    ordered = sent(followers, clock)
    Refill.objects.create(order=ordered, provider_refill_id=77)
    real_order = make(real, 2)
    preset = a_preset((followers, 100), name="Sandbox launch")

    marked = {
        "catalog": reverse("catalog:service_list"),
        "service panel": reverse("catalog:service_detail", args=[followers.pk]),
        "new order": f"{NEW_URL}?service={followers.pk}",
        "mass order": reverse("orders:mass_order"),
        "order page": reverse("orders:order_detail", args=[ordered.code]),
        "orders list": LIST_URL,
        "refills list": reverse("orders:refill_list"),
        "presets": reverse("presets:preset_list"),
        "preset": reverse("presets:preset_apply", args=[preset.pk]),
        "dashboard": reverse("dashboard"),
        "providers": reverse("team:provider_list"),
    }
    for page, url in marked.items():
        assert MARK in client.get(url).content.decode(), page
    for page, url in {
        "service panel": reverse("catalog:service_detail", args=[real.pk]),
        "new order": f"{NEW_URL}?service={real.pk}",
        "order page": reverse("orders:order_detail", args=[real_order.code]),
    }.items():
        assert MARK not in client.get(url).content.decode(), page
    # In a list, on the sandbox's rows only.
    assert client.get(LIST_URL).content.decode().count(MARK) == 1
    assert "it is the sandbox: no real money is spent" in client.get(marked["new order"]).content.decode()


def test_the_empty_list_invites_to_place_an_order(client, person):
    assert "No order yet" in client.get(LIST_URL).content.decode()


def test_the_csv_export_lists_the_filtered_orders(client, person, followers):
    done = make(followers, 1, status=OrderStatus.COMPLETED, charge=Decimal("0.09"))
    make(followers, 2)

    response = client.get(reverse("orders:order_export"), {"status": "completed"})

    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:3] == ["code", "created", "status"]
    assert [row[0] for row in rows[1:]] == [done.code]
    assert rows[1][2] == "completed" and rows[1][10] == "0.09000"


def test_the_csv_export_writes_links_names_and_errors_that_look_like_formulas_as_text(
    client, person, followers
):
    campaign = Campaign.objects.create(name="+SUM(1,1)")
    order = make(followers, 1, campaign=campaign, last_error="-2+3", charge=Decimal("-0.50"))
    Order.objects.filter(pk=order.pk).update(link='=HYPERLINK("http://evil.example","x")')
    get_user_model().objects.filter(pk=person.pk).update(username="@admin")
    Order.objects.filter(pk=order.pk).update(user=person)

    (row,) = csv.DictReader(io.StringIO(client.get(reverse("orders:order_export")).getvalue().decode()))

    assert row["link"] == '\'=HYPERLINK("http://evil.example","x")'
    assert (row["campaign"], row["last error"], row["placed by"]) == ("'+SUM(1,1)", "'-2+3", "'@admin")
    assert row["charge"] == "-0.50000"  # a number stays a number


def break_reading(order: Order) -> None:
    """Store in `order`'s row a value the database driver cannot read back: on SQLite an estimate
    wider than its column (what an unbounded `runs` once saved), on PostgreSQL (which refuses
    that) a creation time of minus infinity, which psycopg cannot turn into a datetime."""
    table = Order._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"UPDATE {table} SET estimated_charge = %s WHERE id = %s", [10.0**30, order.pk])
        else:
            cursor.execute(f"UPDATE {table} SET created_at = '-infinity' WHERE id = %s", [order.pk])


def test_an_order_that_cannot_be_read_makes_the_csv_export_fail_with_a_sentence_not_a_short_file(
    client, person, followers
):
    broken = make(followers, 1, created_at=timezone.now() - timedelta(days=1))
    make(followers, 2)
    break_reading(broken)

    response = client.get(reverse("orders:order_export"))

    assert response.status_code == 500
    assert "Content-Disposition" not in response
    # PostgreSQL reads rows in fetches and fails the whole fetch (here both rows); SQLite fails
    # at the broken row itself.
    first_unread = 1 if connection.vendor == "postgresql" else 2
    assert response.content.decode() == (
        f"The export orders.csv failed: the rows from row {first_unread} on could not be read. "
        "Nothing was downloaded; the error is in the server log.\n"
    )


def test_a_streamed_csv_export_aborts_at_an_order_that_cannot_be_read(client, person, followers, monkeypatch):
    monkeypatch.setattr(web_csv, "BATCH_ROWS", 2)  # stream from the fifth row on, as a long list does
    broken = make(followers, 0, created_at=timezone.now() - timedelta(days=1))
    newer = [make(followers, number) for number in range(1, 6)]
    break_reading(broken)

    response = client.get(reverse("orders:order_export"))
    assert response.status_code == 200 and response.streaming
    received = []
    with pytest.raises(CsvExportAborted):
        for chunk in response.streaming_content:
            received.append(chunk.decode())

    header, *rows, last = csv.reader(io.StringIO("".join(received)))
    codes = [row[0] for row in rows]
    # The broken order is the sixth row: the rows before its fetch (two rows at a time on
    # PostgreSQL, so the fifth may go with it), then a last line saying where the file stops.
    assert codes == [order.code for order in reversed(newer)][: len(codes)] and len(codes) >= 4
    assert last == [
        f"EXPORT FAILED: orders.csv is incomplete: the rows from row {len(codes) + 1} on could not be "
        "read. The error is in the server log."
    ]


def test_bulk_check_now_refill_and_cancel_act_on_the_selected_orders(client, person, followers, clock):
    running = [sent(followers, clock, number=n) for n in range(2)]
    queued = make(followers, 5)
    bulk = reverse("orders:order_bulk")
    codes = [o.code for o in [*running, queued]]

    checked = client.post(bulk, {"action": "check", "order": codes, "next": LIST_URL}, follow=True)
    assert "2 orders checked now; 1 of the 3 selected could not be." in checked.content.decode()

    canceled = client.post(bulk, {"action": "cancel", "order": codes}, follow=True)
    assert "cancel" in canceled.content.decode()
    assert sum(o.cancel_requests.count() for o in running) == 2

    refilled = client.post(bulk, {"action": "refill", "order": codes}, follow=True)
    assert "0 refills requested; 3 of the 3 selected could not be." in refilled.content.decode()


def test_a_bulk_action_without_a_selection_says_so(client, person):
    response = client.post(reverse("orders:order_bulk"), {"action": "refill"}, follow=True)
    assert "Select at least one order." in response.content.decode()


# Mass order --------------------------------------------------------------------------------------


def mass_text(service, bad: bool = True) -> str:
    lines = [f"{service.service_id} | {link(n)} | 100" for n in range(4)]
    if bad:
        lines.insert(2, f"{service.service_id} | https://youtube.com/watch?v=x | 100")
    return "\n".join(lines)


def mass_form(service, action: str) -> dict[str, object]:
    """The mass order form with `mass_text(service)`, posted with the button `action`."""
    return {
        "provider": service.provider_id,
        "text": mass_text(service),
        "submission_token": "m",
        "action": action,
    }


def test_a_mass_order_preview_checks_each_line_and_totals_the_good_ones(client, person, followers):
    data = mass_form(followers, "preview")

    body = client.post(reverse("orders:mass_order"), data).content.decode()

    assert body.count('class="ok-line"') == 4 and body.count('class="bad-line"') == 1
    assert "total <strong>0.36 USD</strong>" in body
    assert "Place 4 orders" in body
    assert Order.objects.count() == 0


def test_dropping_the_bad_lines_leaves_the_good_ones_in_the_box(client, person, followers):
    data = mass_form(followers, "drop")
    body = client.post(reverse("orders:mass_order"), data).content.decode()
    assert "youtube.com" not in body
    assert body.count('class="ok-line"') == 4


def test_confirming_a_mass_order_places_each_good_line_once(client, person, followers):
    data = mass_form(followers, "confirm")

    first = client.post(reverse("orders:mass_order"), data)
    again = client.post(reverse("orders:mass_order"), data)

    assert Order.objects.count() == 4
    assert first["Location"] == again["Location"]
    assert first["Location"].startswith(f"{LIST_URL}?codes=")
    assert set(codes_listed(client.get(first["Location"]))) == set(
        Order.objects.values_list("code", flat=True)
    )


def test_an_uploaded_file_is_previewed_and_becomes_editable(client, person, followers):
    upload = io.BytesIO(mass_text(followers, bad=False).encode())
    upload.name = "orders.txt"
    data = {"provider": followers.provider_id, "file": upload, "submission_token": "m", "action": "preview"}

    body = client.post(reverse("orders:mass_order"), data).content.decode()

    assert body.count('class="ok-line"') == 4
    assert link(3) in body.split("<textarea")[1].split("</textarea>")[0]


def test_an_empty_mass_order_asks_for_lines(client, person, followers):
    data = {"provider": followers.provider_id, "text": "", "submission_token": "m"}
    assert "Enter at least one line" in client.post(reverse("orders:mass_order"), data).content.decode()


# Refills and the dashboard ----------------------------------------------------------------------------


def test_the_refills_list_filters_and_refreshes_while_refills_are_open(client, person, followers):
    order = make(followers, status=OrderStatus.COMPLETED, provider_order_id=10)
    Refill.objects.create(order=order, provider_refill_id=55)
    Refill.objects.create(
        order=order, status=Refill.Status.COMPLETED, finished_at=timezone.now(), provider_refill_id=56
    )

    body = client.get(reverse("orders:refill_list")).content.decode()
    assert "every 5s" in body and ">55<" in body and ">56<" in body

    completed = client.get(reverse("orders:refill_list"), {"status": "completed"}).content.decode()
    assert ">56<" in completed and ">55<" not in completed and "every 5s" not in completed
    assert ">55<" in client.get(reverse("orders:refill_list"), {"q": "55"}).content.decode()


def test_the_refills_list_has_an_empty_state(client, person):
    assert "No refill yet" in client.get(reverse("orders:refill_list")).content.decode()


def test_the_dashboard_shows_spend_open_orders_attention_and_recent_orders(
    client, person, followers, django_assert_max_num_queries
):
    now = timezone.now()
    real = PlainServiceFactory(provider=a_provider("Panel"))
    make(real, 1, status=OrderStatus.COMPLETED, submitted_at=now, charge=Decimal("1.50"))
    make(
        real,
        2,
        status=OrderStatus.COMPLETED,
        submitted_at=now - timedelta(days=3),
        charge=Decimal("2.00"),
    )
    make(
        real,
        3,
        status=OrderStatus.PENDING,
        submitted_at=now - timedelta(days=20),
        charge=Decimal("4.00"),
    )
    lost = make(real, 4, status=OrderStatus.UNCONFIRMED, last_error="Read timed out")
    # The sandbox's orders spend no real money: left out of the figures, marked in the lists.
    make(followers, 5, status=OrderStatus.COMPLETED, submitted_at=now, charge=Decimal("100.00"))

    # Two of them are the approval cards (orders waiting for me, my orders waiting or declined),
    # three the catalog changes card (the person's last visit, the counts, the price jumps).
    with django_assert_max_num_queries(17):
        body = client.get(reverse("dashboard")).content.decode()

    spent = re.findall(r'<p class="stat-value">([0-9.,]+) ', body)
    assert spent == ["1.50", "3.50", "7.50"]
    assert "Sandbox orders are left out of every figure" in body
    assert "Unconfirmed" in body and lost.code in body
    assert '<svg viewBox="0 0 600 140" role="img"' in body
    assert "Pending" in body
    # The Sandbox provider and its one recent order.
    assert body.count("Sandbox — no real money</span>") == 2


def test_the_dashboard_never_adds_up_two_currencies(client, person):
    now = timezone.now()
    dollars, euros = (
        PlainServiceFactory(provider=a_provider("Panel")),
        PlainServiceFactory(provider=a_provider("Europanel")),
    )
    Provider.objects.filter(name="Europanel").update(currency="EUR")
    make(dollars, 1, status=OrderStatus.COMPLETED, submitted_at=now, charge=Decimal("2.00"), currency="USD")
    make(euros, 2, status=OrderStatus.COMPLETED, submitted_at=now, charge=Decimal("5.00"), currency="EUR")
    make(euros, 3, status=OrderStatus.COMPLETED, submitted_at=now, charge=Decimal("1.00"), currency="EUR")

    body = client.get(reverse("dashboard")).content.decode()

    spent = re.findall(r'<p class="stat-value">([0-9.,]+) <span class="currency">(\w+)</span>', body)
    # Today, 7 and 30 days: each currency on its own line, the one spent most first.
    assert spent == [("6.00", "EUR"), ("2.00", "USD")] * 3
    assert "8.00" not in body
    assert body.count('<figure class="spend-chart">') == 2
