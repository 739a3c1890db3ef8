"""Catalog change events: what each sync records, and the price jumps of shortlisted services."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.changes import price_jumps
from catalog.models import CatalogChange, ChangeKind, Service, ShortlistEntry
from catalog.services import catalog_sync
from tests.catalog.test_sync import API_URL
from tests.factories import PriceChangeFactory, ProviderFactory, ServiceFactory

pytestmark = pytest.mark.django_db
FOLLOWERS = {
    "service": 1, "name": "Followers", "type": "Default", "category": "Instagram Followers", "rate": "0.90",
    "min": 50, "max": 10000, "refill": True, "cancel": True, "dripfeed": False,
}  # fmt: skip
LIKES = {**FOLLOWERS, "service": 2, "name": "Likes", "category": "Instagram Likes", "rate": "0.20"}


@pytest.fixture
def provider(no_sandbox):
    return ProviderFactory(name="JAP", api_url=API_URL)


def sync(provider, *services: dict):
    responses.add(responses.POST, API_URL, body=json.dumps(list(services)), content_type="application/json")
    return catalog_sync(provider=provider)


def events() -> list[tuple]:
    return sorted(
        CatalogChange.objects.values_list("service__service_id", "kind", "old_value", "new_value", "percent")
    )


@responses.activate
def test_a_providers_first_sync_records_no_change_since_all_of_it_is_new(provider):
    sync(provider, FOLLOWERS, LIKES)

    assert not CatalogChange.objects.exists()


@responses.activate
def test_each_kind_of_change_is_recorded_with_its_old_and_new_value(provider):
    sync(provider, FOLLOWERS, LIKES)
    changed = {**FOLLOWERS, "name": "Followers HQ", "rate": "1.08", "min": 100, "max": 5000, "refill": False,
               "cancel": False, "dripfeed": True}  # fmt: skip
    cheaper = {**LIKES, "rate": "0.15"}

    sync(provider, changed, cheaper)

    assert events() == [
        (1, ChangeKind.CANCEL, "yes", "no", None),
        (1, ChangeKind.DRIPFEED, "no", "yes", None),
        (1, ChangeKind.MAX, "10000", "5000", None),
        (1, ChangeKind.MIN, "50", "100", None),
        (1, ChangeKind.RATE_UP, "0.90000", "1.08000", Decimal("20.0")),
        (1, ChangeKind.REFILL, "yes", "no", None),
        (1, ChangeKind.RENAMED, "Followers", "Followers HQ", None),
        (2, ChangeKind.RATE_DOWN, "0.20000", "0.15000", Decimal("-25.0")),
    ]
    assert {change.provider_id for change in CatalogChange.objects.all()} == {provider.pk}


@responses.activate
def test_a_new_a_removed_and_a_returning_service_are_each_one_event(provider):
    sync(provider, FOLLOWERS, LIKES)
    sync(provider, FOLLOWERS, {**LIKES, "service": 3, "name": "Views"})  # Likes gone, Views new
    assert events() == [(2, ChangeKind.REMOVED, "", "", None), (3, ChangeKind.NEW, "", "Views", None)]

    CatalogChange.objects.all().delete()
    sync(provider, FOLLOWERS, LIKES, {**LIKES, "service": 3, "name": "Views"})

    assert events() == [(2, ChangeKind.REACTIVATED, "", "", None)]
    new = CatalogChange.objects.get()
    assert new.service == Service.objects.get(service_id=2)


@responses.activate
def test_an_unchanged_sync_records_nothing_and_the_events_cost_no_query_per_row(provider):
    many = [{**FOLLOWERS, "service": n, "name": f"Followers {n}"} for n in range(1, 201)]
    sync(provider, *many)
    sync(provider, *many)
    assert not CatalogChange.objects.exists()

    repriced = [{**row, "rate": "1.00"} for row in many[:100]] + many[100:150]
    repriced += [{**FOLLOWERS, "service": n, "name": f"New {n}"} for n in range(1000, 1100)]
    with CaptureQueriesContext(connection) as queries:
        sync(provider, *repriced)

    assert CatalogChange.objects.filter(kind=ChangeKind.RATE_UP).count() == 100
    assert CatalogChange.objects.filter(kind=ChangeKind.NEW).count() == 100
    assert CatalogChange.objects.filter(kind=ChangeKind.REMOVED).count() == 50
    event_queries = [
        q["sql"]
        for q in queries
        if "catalog_catalogchange" in q["sql"]
        or q["sql"].startswith("SELECT")
        and 'first_seen_at" =' in q["sql"]
    ]
    # The new services' ids, then the 250 events in one insert (SQLite: batches of its variable
    # limit), and one read of the latest changes to announce (notifications): none per row.
    assert 2 <= len(event_queries) <= 4, event_queries


@responses.activate
def test_a_failed_sync_records_nothing(provider):
    sync(provider, FOLLOWERS)
    responses.add(responses.POST, API_URL, body="<html>503</html>", status=503, content_type="text/html")

    catalog_sync(provider=provider)

    assert not CatalogChange.objects.exists()


@pytest.fixture
def shortlisted(no_sandbox):
    service = ServiceFactory(provider=ProviderFactory(name="JAP"), service_id=77, rate=Decimal("1.30000"))
    ShortlistEntry.objects.create(service=service, house_name="IG followers — premium")
    return service


def test_a_shortlisted_service_whose_rate_rose_more_than_the_threshold_this_week_is_a_price_jump(
    shortlisted, settings
):
    settings.PRICE_JUMP_ALERT_PERCENT = Decimal("20")
    # Two rises of 12% and 16%: neither alone is a jump, together they are 30%.
    PriceChangeFactory(service=shortlisted, old_rate=Decimal("1.00000"), new_rate=Decimal("1.12000"),
                       changed_at=timezone.now() - timedelta(days=3))  # fmt: skip
    PriceChangeFactory(service=shortlisted, old_rate=Decimal("1.12000"), new_rate=Decimal("1.30000"))

    (jump,) = price_jumps()

    assert (jump.entry.service, jump.old_rate, jump.percent) == (
        shortlisted,
        Decimal("1.00000"),
        Decimal("30.0"),
    )
    settings.PRICE_JUMP_ALERT_PERCENT = Decimal("30")
    assert price_jumps() == []  # more than the threshold, not as much


def test_a_rise_older_than_a_week_or_of_a_service_off_the_shortlist_is_no_price_jump(shortlisted):
    PriceChangeFactory(service=shortlisted, old_rate=Decimal("0.50000"), new_rate=Decimal("1.30000"),
                       changed_at=timezone.now() - timedelta(days=8))  # fmt: skip
    other = ServiceFactory(provider=shortlisted.provider, rate=Decimal("9.00000"))
    PriceChangeFactory(service=other, old_rate=Decimal("1.00000"), new_rate=Decimal("9.00000"))

    assert price_jumps() == []
