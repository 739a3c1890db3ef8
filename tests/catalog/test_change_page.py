"""The Catalog changes page: filters in the URL, since my last visit, impact first, keyset pages, CSV;
and the dashboard's card."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.changes import seen_param
from catalog.models import CatalogChange, CatalogChangesVisit, ChangeKind, ShortlistEntry
from jappanel.web.pagination import PAGE_SIZE
from tests.factories import PriceChangeFactory, ProviderFactory, ServiceFactory
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db
URL = reverse("catalog:change_list")
HTMX = {"HX-Request": "true", "HX-Target": "change-table"}


def change(
    service, kind=ChangeKind.RATE_UP, *, ago=timedelta(hours=1), old="1.00000", new="1.50000", percent=None
):
    if percent is None and kind in (ChangeKind.RATE_UP, ChangeKind.RATE_DOWN):
        percent = (Decimal(new) - Decimal(old)) * 100 / Decimal(old)
    return CatalogChange.objects.create(
        provider=service.provider, service=service, kind=kind, at=timezone.now() - ago,
        old_value=old, new_value=new, percent=percent,
    )  # fmt: skip


def listed(response) -> list[str]:
    """The names of the services in the main list, in order."""
    html = response.content.decode()
    main = html[html.index('id="change-table"') :]
    if "Touching your shortlist" in main:
        main = main[main.index("</section>") :]
    return re.findall(r"#\d+ · ([^<]+)</a>", main)


@pytest.fixture
def catalog(no_sandbox):
    jap, other = ProviderFactory(name="JAP"), ProviderFactory(name="Other")
    return {
        "followers": ServiceFactory(provider=jap, service_id=1, name="Followers"),
        "likes": ServiceFactory(provider=jap, service_id=2, name="Likes"),
        "views": ServiceFactory(provider=other, service_id=3, name="Views"),
    }


def test_the_page_lists_the_last_7_days_newest_first_with_what_changed(buyer_client, catalog):
    change(catalog["followers"], ago=timedelta(hours=3))
    change(catalog["likes"], ChangeKind.RENAMED, old="Likes", new="Likes HQ", ago=timedelta(hours=1))
    change(catalog["views"], ChangeKind.REMOVED, old="", new="", ago=timedelta(days=8))

    response = buyer_client.get(URL)

    assert listed(response) == ["Likes", "Followers"]
    html = response.content.decode()
    assert "Likes → <strong>Likes HQ</strong>" in html
    assert "1.00 → <strong>1.50</strong>" in html and "+50.0%" in html
    assert listed(buyer_client.get(f"{URL}?since=30")) == ["Likes", "Followers", "Views"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("kind=renamed", ["Likes"]), ("provider={other}", ["Views"]), ("shortlist=true", ["Followers"])],
)
def test_each_filter_narrows_the_list_and_is_kept_in_the_url(htmx_client, catalog, query, expected):
    ShortlistEntry.objects.create(service=catalog["followers"], house_name="IG followers")
    change(catalog["followers"])
    change(catalog["likes"], ChangeKind.RENAMED, old="Likes", new="Likes HQ")
    change(catalog["views"], ChangeKind.NEW, old="", new="Views")
    query = query.format(other=catalog["views"].provider_id)

    response = htmx_client.get(f"{URL}?{query}", headers=HTMX)

    assert listed(response) == expected
    assert "<html" not in response.content.decode()  # only the list, for htmx
    assert f"{reverse('catalog:change_export')}?{query.replace('true', 'true')}" in response.content.decode()


def test_changes_touching_the_shortlist_or_a_preset_come_first_and_are_marked(buyer_client, catalog):
    ShortlistEntry.objects.create(service=catalog["followers"], house_name="IG followers — premium")
    a_preset((catalog["likes"], 100), name="Launch")
    change(catalog["followers"], ago=timedelta(hours=5))
    change(catalog["likes"], ChangeKind.MAX, old="10000", new="50", ago=timedelta(hours=4))
    change(catalog["views"], ago=timedelta(minutes=5))

    html = buyer_client.get(URL).content.decode()

    impact = html[
        html.index("Touching your shortlist and presets") : html.index("</section>", html.index("Touching"))
    ]
    assert "Followers" in impact and "Likes" in impact and "Views" not in impact
    assert "Shortlisted as “IG followers — premium”" in impact and "In a preset" in impact
    assert html.index("Touching your shortlist") < html.index("Views")
    assert html.count('class="change touches"') == 4  # twice in the impact list, twice highlighted below


def test_an_archived_presets_services_are_not_in_use(buyer_client, catalog):
    preset = a_preset((catalog["likes"], 100), name="Old")
    preset.active = False
    preset.save()
    change(catalog["likes"])

    assert "Touching your shortlist" not in buyer_client.get(URL).content.decode()


def test_since_my_last_visit_is_pinned_in_the_url_and_shows_what_came_after_it(buyer, buyer_client, catalog):
    visited = timezone.now() - timedelta(hours=2)
    CatalogChangesVisit.objects.create(user=buyer, visited_at=visited)
    change(catalog["followers"], ago=timedelta(hours=3))
    change(catalog["likes"], ago=timedelta(hours=1))

    response = buyer_client.get(f"{URL}?since=visit")

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?since=visit&seen={seen_param(visited)}"
    assert CatalogChangesVisit.objects.get(user=buyer).visited_at > visited  # this visit counts
    page = buyer_client.get(response["Location"])
    assert listed(page) == ["Likes"]
    # Reloaded, or refiltered with htmx, it is still the same list: the URL holds the visit.
    assert listed(buyer_client.get(response["Location"])) == ["Likes"]
    refiltered = buyer_client.get(f"{response['Location']}&kind=rate_up", headers=HTMX)
    assert listed(refiltered) == ["Likes"]


@pytest.mark.parametrize(
    "query",
    ["since=forever", "provider=abc", "kind=everything", "older=not-a-cursor", "since=visit&seen=12x"],
)
def test_bad_query_parameters_are_ignored_never_an_error_nor_an_unbounded_list(buyer_client, catalog, query):
    change(catalog["followers"], ago=timedelta(days=1))
    change(catalog["likes"], ago=timedelta(days=40))

    response = buyer_client.get(f"{URL}?{query}")

    assert response.status_code == 200
    assert listed(response) == ["Followers"]


def test_a_first_visit_shows_the_last_30_days(buyer_client, catalog):
    change(catalog["followers"], ago=timedelta(days=20))

    page = buyer_client.get(buyer_client.get(f"{URL}?since=visit")["Location"])

    assert listed(page) == ["Followers"]


def test_pages_follow_each_other_by_keyset_without_overlap(buyer_client, catalog):
    for minutes in range(PAGE_SIZE + 10):
        change(catalog["views"], ago=timedelta(minutes=minutes + 1), new=f"{minutes + 2}.00000")

    first = buyer_client.get(URL)
    older = re.search(r'href="\?older=([^"&]+)"', first.content.decode()).group(1)
    second = buyer_client.get(f"{URL}?older={older}", headers=HTMX)

    first_rates = re.findall(r"→ <strong>([\d.]+)</strong>", first.content.decode())
    second_rates = re.findall(r"→ <strong>([\d.]+)</strong>", second.content.decode())
    assert (len(first_rates), len(second_rates)) == (PAGE_SIZE, 10)
    assert not set(first_rates) & set(second_rates)
    assert f"<strong>{PAGE_SIZE + 10}</strong> changes" in first.content.decode()


def test_the_csv_holds_every_change_of_the_filters_with_formula_safe_names(buyer_client, catalog):
    ShortlistEntry.objects.create(service=catalog["followers"], house_name="=HYPERLINK()")
    change(catalog["followers"])
    change(catalog["likes"], ChangeKind.RENAMED, old="Likes", new="-Likes")

    response = buyer_client.get(f"{reverse('catalog:change_export')}?since=7")

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["when", "provider", "service id", "service", "change"]
    assert [row[4] for row in rows[1:]] == ["Renamed", "Rate up"]
    assert rows[1][6] == "'-Likes" and rows[2][8] == "'=HYPERLINK()"
    assert rows[2][7] == "50.0"


def test_without_any_change_the_page_says_so_and_a_filter_without_match_offers_to_clear_it(
    buyer_client, catalog
):
    assert "Nothing changed" in buyer_client.get(URL).content.decode()

    change(catalog["views"])
    html = buyer_client.get(f"{URL}?kind=removed").content.decode()

    assert "No change matches" in html and "Clear the other filters" in html


def test_the_page_costs_the_same_queries_for_one_change_or_a_full_page(
    buyer_client, catalog, django_assert_max_num_queries
):
    ShortlistEntry.objects.create(service=catalog["followers"], house_name="IG")
    change(catalog["followers"])
    with django_assert_max_num_queries(15) as one:
        buyer_client.get(URL)
    for minutes in range(PAGE_SIZE):
        change(catalog["followers"], ago=timedelta(minutes=minutes + 2))
    with django_assert_max_num_queries(len(one.captured_queries)):
        buyer_client.get(URL)


def test_the_dashboard_flags_a_shortlisted_price_jump_and_counts_the_changes_since_the_last_visit(
    buyer, buyer_client, catalog, settings
):
    settings.PRICE_JUMP_ALERT_PERCENT = Decimal("20")
    followers = catalog["followers"]
    ShortlistEntry.objects.create(service=followers, house_name="IG followers — premium")
    PriceChangeFactory(service=followers, old_rate=Decimal("0.60000"), new_rate=followers.rate)
    change(followers, old="0.60000", new="0.90000")
    change(catalog["views"])
    CatalogChangesVisit.objects.create(user=buyer, visited_at=timezone.now() - timedelta(days=1))

    html = buyer_client.get("/").content.decode()

    card = html[html.index("Catalog changes") :]
    assert "Price jump" in card and "IG followers — premium" in card and "+50.0%" in card
    assert "<strong>2</strong> changes since your last visit" in card
    assert "<strong>1</strong> touching your shortlist or presets" in card
    assert f'href="{URL}?since=visit"' in card


def test_the_dashboard_says_when_nothing_changed(buyer_client, catalog):
    html = buyer_client.get("/").content.decode()

    assert "Nothing changed in the catalog in the last 30 days." in html
    assert "Price jump" not in html
