"""The catalog page through the Django test client: search, filters, costs, favourites, sync."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from catalog.filters import catalog_page_queryset
from catalog.models import CatalogSync, Favourite, Service
from catalog.platforms import Platform
from catalog.tasks import sync_provider_catalog
from providers.models import Provider
from tests.factories import CatalogSyncFactory, PriceChangeFactory, ProviderFactory, ServiceFactory

pytestmark = pytest.mark.django_db
LIST_URL = reverse("catalog:service_list")


def listed_ids(response) -> list[int]:
    """The provider's service ids of the table rows, in order."""
    return [int(i) for i in re.findall(r'<span class="service-id">(\d+)</span>', response.content.decode())]


@pytest.fixture
def catalog(no_sandbox):
    """A small catalog across two platforms and two providers."""
    jap = ProviderFactory(name="JAP")
    other = ProviderFactory(name="Other panel", currency="EUR")
    return {
        "likes": ServiceFactory(provider=jap, likes=True, cancel=True),
        "followers": ServiceFactory(provider=jap, followers=True, max_quantity=100_000, dripfeed=True),
        "views": ServiceFactory(provider=jap, views=True, max_quantity=2_147_483_647, type="Package"),
        "members": ServiceFactory(
            provider=other,
            service_id=55,
            name="Telegram Members",
            category="Telegram Members",
            platform=Platform.TELEGRAM,
            rate=Decimal("0.00123"),
            min_quantity=1000,
            max_quantity=50_000,
            cancel=True,
        ),
        "gone": ServiceFactory(provider=jap, service_id=999, name="Instagram Saves", active=False),
    }


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_table_lists_active_services_cheapest_first_with_their_facts(buyer_client, catalog):
    response = buyer_client.get(LIST_URL)
    assert response.status_code == 200
    assert listed_ids(response) == [55, 101, 102, 7102]
    html = response.content.decode()
    assert "Instagram Saves" not in html
    assert "YouTube Views [Max: 10M]" in html
    assert "100 – no limit" in html  # JAP's 2147483647
    assert "0.00123" in html
    assert '<option value="Instagram Likes"' in html  # categories, from the active services


def test_the_services_of_a_switched_off_provider_are_not_listed(buyer_client, catalog):
    Provider.objects.filter(pk=Service.objects.get(service_id=101).provider_id).update(active=False)
    assert 101 not in listed_ids(buyer_client.get(LIST_URL))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=likes", [101]),  # name, any case
        ("q=youtube+views", [7102]),  # category
        ("q=7102", [7102]),  # the provider's id
        ("q=%237102", [7102]),  # the id as people write it
        ("q=telegram", [55]),
        ("q=nothing-like-this", []),
    ],
)
def test_search_covers_name_category_and_id(buyer_client, catalog, query, expected):
    assert listed_ids(buyer_client.get(f"{LIST_URL}?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("platform=instagram", [101, 102]),
        ("category=YouTube+Views", [7102]),
        ("type=Package", [7102]),
        ("refill=true", [101]),
        ("cancel=true", [55, 101]),
        ("dripfeed=true", [102]),
        ("platform=instagram&cancel=true", [101]),
    ],
)
def test_each_filter_narrows_the_table(buyer_client, catalog, query, expected):
    assert listed_ids(buyer_client.get(f"{LIST_URL}?{query}")) == expected


def test_the_provider_filter_shows_one_providers_services(buyer_client, catalog):
    other = Provider.objects.get(name="Other panel")
    assert listed_ids(buyer_client.get(f"{LIST_URL}?provider={other.pk}")) == [55]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("rate", [55, 101, 102, 7102]),
        ("-rate", [7102, 102, 101, 55]),
        ("min", [102, 101, 7102, 55]),
        ("-max", [7102, 102, 55, 101]),
        ("name", [102, 101, 55, 7102]),
    ],
)
def test_the_table_sorts_by_rate_both_ways_min_max_and_name(buyer_client, catalog, sort, expected):
    assert listed_ids(buyer_client.get(f"{LIST_URL}?sort={sort}")) == expected


def test_pages_follow_each_other_and_keep_the_filters_in_their_links(buyer_client, no_sandbox):
    ServiceFactory.create_batch(30, rate=Decimal("1.00000"))
    first = buyer_client.get(f"{LIST_URL}?platform=instagram")
    second = buyer_client.get(f"{LIST_URL}?platform=instagram&page=2")
    assert len(listed_ids(first)) == 25
    assert len(listed_ids(second)) == 5
    assert not set(listed_ids(first)) & set(listed_ids(second))
    assert 'href="?platform=instagram&amp;page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_a_quantity_turns_every_rate_into_the_exact_cost(buyer_client, catalog):
    html = buyer_client.get(f"{LIST_URL}?quantity=1500").content.decode()
    assert "Cost × 1,500" in html
    # 0.25 × 1500 / 1000, 1.2 × 1500 / 1000, 3 × 1500 / 1000, 0.00123 × 1500 / 1000
    for cost in ("0.375", "1.80", "4.50", "0.001845"):
        assert re.search(rf">\s*{re.escape(cost)} <span class=\"currency\">", html), cost
    assert "EUR" in html
    # 1,500 is below the 1,000 minimum of nothing but above the 5,000 maximum of nothing:
    # only the Telegram members (min 1,000) and the views (min 100) are in range; all are.
    assert "below min" not in html


def test_a_cost_outside_a_services_limits_says_so(buyer_client, catalog):
    html = buyer_client.get(f"{LIST_URL}?quantity=20&q=telegram").content.decode()
    assert "0.0000246" in html  # 0.00123 × 20 / 1000, to the last digit
    assert "below min" in html


def test_the_cost_of_the_largest_quantity_is_exact_to_the_last_digit(buyer_client, catalog):
    html = buyer_client.get(f"{LIST_URL}?quantity=2147483647&q=7102").content.decode()
    assert "6,442,450.941" in html  # 3 × 2147483647 / 1000


def test_a_person_stars_and_unstars_a_service_with_htmx(htmx_client, buyer, catalog):
    likes = catalog["likes"]
    url = reverse("catalog:service_favourite", args=[likes.pk])
    response = htmx_client.post(url, {"starred": "1", "next": LIST_URL})
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert Favourite.objects.filter(user=buyer, service=likes).exists()

    response = htmx_client.post(url, {"starred": "0", "next": LIST_URL})
    assert 'aria-pressed="false"' in response.content.decode()
    assert not Favourite.objects.filter(user=buyer, service=likes).exists()


def test_starring_without_javascript_redirects_back_to_the_same_list(buyer_client, catalog):
    url = reverse("catalog:service_favourite", args=[catalog["views"].pk])
    response = buyer_client.post(url, {"starred": "1", "next": f"{LIST_URL}?q=youtube"})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST_URL}?q=youtube"


def test_starring_never_redirects_to_another_site(buyer_client, catalog):
    url = reverse("catalog:service_favourite", args=[catalog["views"].pk])
    response = buyer_client.post(url, {"starred": "1", "next": "https://evil.example/"})
    assert response["Location"] == LIST_URL


def test_the_favourites_filter_shows_only_the_persons_own_stars(buyer_client, buyer, catalog, admin_user):
    Favourite.objects.create(user=buyer, service=catalog["views"])
    Favourite.objects.create(user=admin_user, service=catalog["likes"])
    response = buyer_client.get(f"{LIST_URL}?favourites=true")
    assert listed_ids(response) == [7102]
    assert 'aria-pressed="true"' in response.content.decode()


def test_price_moves_of_the_week_are_marked_up_or_down(buyer_client, catalog):
    PriceChangeFactory(service=catalog["likes"], old_rate=Decimal("0.20000"), new_rate=Decimal("0.25000"))
    PriceChangeFactory(service=catalog["followers"], old_rate=Decimal("1.50000"), new_rate=Decimal("1.20000"))
    PriceChangeFactory(
        service=catalog["views"],
        old_rate=Decimal("1.00000"),
        new_rate=Decimal("3.00000"),
        changed_at=timezone.now() - timedelta(days=30),
    )
    html = buyer_client.get(LIST_URL).content.decode()
    assert html.count("price up this week") == 1
    assert html.count("price down this week") == 1
    assert "Up from 0.20 this week" in html
    assert "Down from 1.50 this week" in html


def test_services_that_arrived_this_week_after_the_first_sync_are_marked_new(buyer_client, catalog):
    now = timezone.now()
    jap, other = Provider.objects.get(name="JAP"), Provider.objects.get(name="Other panel")
    CatalogSyncFactory(
        provider=jap, status="ok", started_at=now - timedelta(days=10), finished_at=now - timedelta(days=10)
    )
    # The other panel's first sync is the one that brought its services: nothing new there.
    CatalogSyncFactory(provider=other, status="ok", started_at=now, finished_at=now + timedelta(seconds=1))
    Service.objects.filter(pk=catalog["views"].pk).update(first_seen_at=now - timedelta(days=8))
    html = buyer_client.get(LIST_URL).content.decode()
    assert html.count('<span class="badge new">new</span>') == 2  # the likes and the followers


def test_an_htmx_request_gets_only_the_table_and_a_boosted_one_the_whole_page(htmx_client, catalog):
    partial = htmx_client.get(f"{LIST_URL}?q=likes").content.decode()
    assert 'id="service-table"' in partial
    assert "<html" not in partial
    assert 'id="filters"' not in partial
    assert "HX-Request" in htmx_client.get(LIST_URL)["Vary"]  # no cached fragment for a full page
    boosted = htmx_client.get(LIST_URL, headers={"HX-Boosted": "true"}).content.decode()
    assert "<html" in boosted
    restored = htmx_client.get(LIST_URL, headers={"HX-History-Restore-Request": "true"}).content.decode()
    assert "<html" in restored


def test_the_page_works_without_javascript(buyer_client, catalog):
    html = buyer_client.get(LIST_URL).content.decode()
    assert re.search(r'<form id="filters"[^>]* method="get" action="/services/"', html)
    assert '<button type="submit" class="button">Apply</button>' in html
    assert f'href="{reverse("catalog:service_detail", args=[catalog["likes"].pk])}"' in html


def test_every_filter_input_has_a_label(buyer_client, catalog):
    html = buyer_client.get(LIST_URL).content.decode()
    form = html[html.index('<form id="filters"') : html.index("</form>", html.index('<form id="filters"'))]
    ids = re.findall(r'<(?:input|select)(?![^>]*type="checkbox")[^>]* id="([^"]+)"', form)
    assert ids
    for input_id in ids:
        assert f'<label for="{input_id}">' in form
    assert form.count('type="checkbox"') == form.count('<label class="check"><input type="checkbox"')


@pytest.mark.parametrize(
    "query",
    [
        "page=abc&sort=nonsense&quantity=-5",
        "page=99999&per_page=7&provider=x&platform=mars&refill=maybe",
        "q=" + "9" * 40,
        "quantity=1e9999&favourites=%00",
    ],
)
def test_bad_query_parameters_are_ignored_not_an_error(buyer_client, catalog, query):
    response = buyer_client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 200


def test_the_detail_panel_shows_the_service_and_its_price_history(htmx_client, catalog):
    views = catalog["views"]
    Service.objects.filter(pk=views.pk).update(
        raw={"service": 7102, "desc": "Real views, no drop.", "description_de": "Echte Aufrufe."}
    )
    PriceChangeFactory(
        service=views,
        old_rate=Decimal("2.50000"),
        new_rate=Decimal("3.00000"),
        old_max=1_000_000,
        new_max=2_147_483_647,
    )
    response = htmx_client.get(reverse("catalog:service_detail", args=[views.pk]))
    html = response.content.decode()
    assert "<html" not in html
    assert "<dialog open" in html
    assert "YouTube Views [Max: 10M]" in html
    assert "Real views, no drop." in html
    assert "Echte Aufrufe." in html
    assert "100 – 2,147,483,647" in html
    assert "2.50 → <strong>3.00</strong>" in html
    assert '<svg viewBox="0 0 320 96" role="img"' in html
    assert "<circle" in html
    assert f'href="/orders/new/?service={views.pk}"' in html and "Order this" in html


def test_the_detail_is_a_full_page_without_htmx(buyer_client, catalog):
    response = buyer_client.get(reverse("catalog:service_detail", args=[catalog["likes"].pk]))
    html = response.content.decode()
    assert "<html" in html
    assert "All services" in html
    assert "No change of price or limits" in html
    assert "<svg" in html


def test_an_unknown_service_is_a_404(buyer_client, no_sandbox):
    assert buyer_client.get(reverse("catalog:service_detail", args=[123456])).status_code == 404


def test_without_any_provider_the_page_says_so(buyer_client, no_sandbox):
    html = buyer_client.get(LIST_URL).content.decode()
    assert "No provider yet" in html
    assert "Sync now" not in html


def test_a_provider_never_synced_is_awaited_and_offers_sync_now(buyer_client, no_sandbox):
    ProviderFactory(name="JAP")
    html = buyer_client.get(LIST_URL).content.decode()
    assert "Waiting for the first sync" in html
    assert "Sync now" in html
    # The status watches for the worker's first sync, and says nothing is over while it waits.
    assert 'hx-get="/services/sync/status/" hx-trigger="every 1s"' in html
    status = buyer_client.get(reverse("catalog:sync_status"))
    assert "HX-Trigger" not in status


def test_a_failed_last_sync_shows_its_message_and_a_retry(buyer_client, no_sandbox):
    CatalogSyncFactory(status=CatalogSync.Status.FAILED, message="JAP answered with an HTML page (HTTP 503).")
    html = buyer_client.get(LIST_URL).content.decode()
    assert "The last sync failed" in html
    assert "JAP answered with an HTML page (HTTP 503)." in html
    assert "Retry sync" in html


def test_a_failed_sync_keeps_the_catalog_and_says_why_above_it(buyer_client, catalog):
    CatalogSyncFactory(
        provider=Provider.objects.get(name="JAP"), status="failed", message="Cloudflare blocked us."
    )
    response = buyer_client.get(LIST_URL)
    assert listed_ids(response) == [55, 101, 102, 7102]
    assert "Cloudflare blocked us." in response.content.decode()
    assert "Retry sync" in response.content.decode()


def test_a_search_without_result_offers_to_clear_the_filters(htmx_client, catalog):
    html = htmx_client.get(f"{LIST_URL}?q=zzz&platform=tiktok").content.decode()
    assert "No service matches" in html
    assert f'<a href="{LIST_URL}">Clear filters</a>' in html


@pytest.mark.parametrize("htmx", [False, True])
def test_the_number_of_queries_does_not_depend_on_the_page_size(
    buyer, buyer_client, htmx_client, no_sandbox, django_assert_max_num_queries, htmx
):
    services = ServiceFactory.create_batch(120)
    CatalogSyncFactory(provider=services[0].provider, status="ok", finished_at=timezone.now())
    for service in services[::3]:
        PriceChangeFactory(service=service)
        Favourite.objects.create(user=buyer, service=service)
    client = htmx_client if htmx else buyer_client
    # session, user, the person's permissions (2), count, rows, the session saved again (3, with
    # its savepoint); a full page adds providers, their last runs and categories.
    for per_page in (25, 100):
        with django_assert_max_num_queries(9 if htmx else 12):
            response = client.get(f"{LIST_URL}?per_page={per_page}&quantity=1000&sort=-rate")
        assert len(listed_ids(response)) == per_page


def test_the_benchmark_can_build_the_page_query_without_a_request(buyer, catalog):
    rows = catalog_page_queryset({"q": "instagram", "sort": "-rate"}, user=buyer)
    assert [service.service_id for service in rows] == [102, 101]


SERVICES_ANSWER = [
    {"service": 1, "name": "Followers", "type": "Default", "category": "Instagram Followers", "rate": "0.90",
     "min": "50", "max": "10000", "refill": True, "cancel": True},
    {"service": 2, "name": "Comments", "type": "Custom Comments", "category": "Instagram Comments",
     "rate": "8", "min": "10", "max": "1500", "refill": False, "cancel": True},
]  # fmt: skip


@responses.activate
def test_sync_now_queues_a_run_shows_its_progress_then_its_result_and_refreshes_the_table(
    htmx_client, no_sandbox, django_capture_on_commit_callbacks
):
    provider = ProviderFactory(name="JAP")
    responses.post(provider.api_url, json=SERVICES_ANSWER)
    with django_capture_on_commit_callbacks() as callbacks:
        response = htmx_client.post(reverse("catalog:sync_now"))
    html = response.content.decode()
    assert len(callbacks) == 1  # the task is queued only once the run is committed
    assert "Waiting for a worker" in html
    assert 'hx-trigger="every 1s"' in html
    assert "HX-Trigger" not in response
    run = CatalogSync.objects.get(provider=provider, status=CatalogSync.Status.RUNNING)

    # What the worker does with the queued task:
    sync_provider_catalog(provider.pk, run.pk)

    response = htmx_client.get(reverse("catalog:sync_status"))
    html = response.content.decode()
    assert "2 added, 0 updated, 0 deactivated, 0 unchanged" in html
    assert "every 1s" not in html  # the polling stops
    assert response["HX-Trigger"] == "catalog-synced"
    assert listed_ids(htmx_client.get(LIST_URL)) == [1, 2]


@responses.activate
def test_a_failing_sync_now_shows_the_failure_and_a_retry(
    htmx_client, no_sandbox, django_capture_on_commit_callbacks
):
    provider = ProviderFactory(name="JAP")
    responses.post(provider.api_url, json={"error": "Invalid API key"})
    with django_capture_on_commit_callbacks(execute=False):
        htmx_client.post(reverse("catalog:sync_now"))
    sync_provider_catalog(provider.pk, CatalogSync.objects.get().pk)
    html = htmx_client.get(reverse("catalog:sync_status")).content.decode()
    assert "failed" in html
    assert "Invalid API key" in html
    assert "Retry sync" in html


def test_sync_now_without_javascript_redirects_with_a_message(
    buyer_client, no_sandbox, django_capture_on_commit_callbacks
):
    ProviderFactory(name="JAP")
    with django_capture_on_commit_callbacks():
        response = buyer_client.post(reverse("catalog:sync_now"), follow=True)
    assert "Sync started for JAP." in response.content.decode()


def test_sync_now_refuses_a_get(buyer_client, no_sandbox):
    assert buyer_client.get(reverse("catalog:sync_now")).status_code == 405


def test_each_row_has_its_own_order_action_carrying_the_typed_quantity(buyer_client, catalog):
    html = buyer_client.get(reverse("catalog:service_list"), {"quantity": "500"}).content.decode()
    for name in ("likes", "followers", "views", "members"):
        assert f'href="/orders/new/?service={catalog[name].pk}&amp;quantity=500"' in html
    form = buyer_client.get(
        "/orders/new/", {"service": catalog["likes"].pk, "quantity": "500"}
    ).content.decode()
    assert 'name="quantity"' in form and 'value="500"' in form


def test_a_viewer_sees_no_order_action_in_the_catalog(client, catalog):
    viewer = get_user_model().objects.create_user("viewer", "viewer@example.com", "correct-horse-battery")
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)
    html = client.get(reverse("catalog:service_list")).content.decode()
    assert "/orders/new/?service=" not in html
