"""Catalog sync against recorded panel answers (with every type drift of the protocol)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import CatalogSync, Service, ServicePriceChange
from catalog.platforms import Platform, platform_for
from catalog.services import SyncAlreadyRunning, catalog_sync, catalog_sync_start
from providers.models import Provider

API_URL = "https://panel.example.com/api/v2"
pytestmark = pytest.mark.django_db

LIVE_JAP = {
    "service": 7102,
    "name": "Telegram Members [Refill: 7D] [Start Time: 0 - 1 Hr] [Max: 30K] [Speed: 20K/D]",
    "type": "Default",
    "rate": "0.125",
    "min": 10,
    "max": 100000,
    "dripfeed": True,
    "refill": False,
    "cancel": True,
    "category": "Telegram Members",
}
DOC_STYLE = {  # JAP's documentation example: strings for min/max, no dripfeed
    "service": 1,
    "name": "Followers",
    "type": "Default",
    "category": "Instagram Followers",
    "rate": "0.90",
    "min": "50",
    "max": "10000",
    "refill": True,
    "cancel": True,
}
OTHER_PANEL = {  # another panel: the id as a string, no cancel field
    "service": "3331",
    "name": "YouTube Views [Max: 10M]",
    "type": "Default",
    "category": "YouTube Views",
    "rate": "1.5",
    "min": "100",
    "max": "2147483647",
    "refill": False,
    "desc": "Real views, no drop.",
}


@pytest.fixture
def provider():
    provider = Provider(name="JAP", api_url=API_URL)
    provider.set_api_key("test-key-0123456789")
    provider.save()
    return provider


def answer(*services: dict, status: int = 200, body: str | None = None) -> None:
    responses.add(
        responses.POST,
        API_URL,
        body=body if body is not None else json.dumps(list(services)),
        status=status,
        content_type="application/json" if body is None else "text/html",
    )


@pytest.mark.parametrize(
    ("category", "name", "platform"),
    [
        ("Instagram Followers", "Followers [Refill: 30D]", Platform.INSTAGRAM),
        ("YouTube Views", "Views", Platform.YOUTUBE),
        ("Facebook Page Likes", "Likes", Platform.FACEBOOK),
        ("Twitter Followers", "Followers", Platform.TWITTER),
        ("X Retweets", "Retweets", Platform.TWITTER),
        ("TikTok Likes", "Likes", Platform.TIKTOK),
        ("LinkedIn Connections", "Connections", Platform.LINKEDIN),
        ("Telegram Members", "Members", Platform.TELEGRAM),
        ("Discord Server Members", "Members", Platform.DISCORD),
        ("Spotify Plays", "Plays", Platform.SPOTIFY),
        ("Twitch Followers", "Followers", Platform.TWITCH),
        ("Website Traffic from Google", "Visitors", Platform.WEBSITE_TRAFFIC),
        ("SEO Backlinks", "Backlinks", Platform.SEO),
        ("Google Maps Reviews", "Reviews", Platform.GOOGLE),
        ("App Store Reviews", "iOS reviews", Platform.APP_STORE),
        ("Google Play Installs", "Installs", Platform.APP_STORE),
        ("Premium services", "Instagram Reels Views", Platform.INSTAGRAM),
        ("Premium services", "Mixed bundle", Platform.OTHER),
        ("Xbox fans", "Boxes", Platform.OTHER),
    ],
)
def test_the_platform_is_derived_from_category_then_name(category, name, platform):
    assert platform_for(category, name) == platform


@responses.activate
def test_a_first_sync_adds_every_service_whatever_the_typing_of_its_fields(provider):
    answer(LIVE_JAP, DOC_STYLE, OTHER_PANEL)
    report = catalog_sync(provider=provider)
    assert (report.added, report.updated, report.unchanged, report.deactivated, report.skipped) == (
        3,
        0,
        0,
        0,
        0,
    )
    telegram = Service.objects.get(service_id=7102)
    assert telegram.rate == Decimal("0.125")
    assert (telegram.min_quantity, telegram.max_quantity) == (10, 100000)
    assert (telegram.dripfeed, telegram.refill, telegram.cancel) == (True, False, True)
    assert telegram.platform == Platform.TELEGRAM
    followers = Service.objects.get(service_id=1)
    assert (followers.min_quantity, followers.max_quantity, followers.dripfeed) == (50, 10000, False)
    views = Service.objects.get(service_id=3331)
    assert views.max_quantity == 2147483647
    assert views.cancel is False
    assert views.raw["desc"] == "Real views, no drop."
    run = CatalogSync.objects.get()
    assert (run.status, run.added, run.stage) == (CatalogSync.Status.OK, 3, "")


@responses.activate
def test_a_re_sync_with_nothing_changed_writes_no_service_row(provider):
    answer(LIVE_JAP, DOC_STYLE, OTHER_PANEL)
    answer(LIVE_JAP, DOC_STYLE, OTHER_PANEL)
    catalog_sync(provider=provider)
    with CaptureQueriesContext(connection) as queries:
        report = catalog_sync(provider=provider)
    assert (report.added, report.updated, report.unchanged, report.deactivated) == (0, 0, 3, 0)
    service_writes = [
        q["sql"]
        for q in queries
        if "catalog_service" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")
    ]
    assert service_writes == []
    # The run record and the read of the catalog; the call slot taken and given back (pace).
    assert len(queries) <= 7, [q["sql"] for q in queries]


@responses.activate
def test_price_and_limit_changes_are_recorded_and_other_changes_are_not(provider):
    answer(LIVE_JAP, DOC_STYLE)
    answer({**LIVE_JAP, "rate": "0.150", "max": 50000}, {**DOC_STYLE, "name": "Followers HQ"})
    catalog_sync(provider=provider)
    report = catalog_sync(provider=provider)
    assert (report.updated, report.unchanged) == (2, 0)
    change = ServicePriceChange.objects.get()
    assert change.service.service_id == 7102
    assert (change.old_rate, change.new_rate) == (Decimal("0.125"), Decimal("0.150"))
    assert (change.old_max, change.new_max, change.old_min, change.new_min) == (100000, 50000, 10, 10)
    assert Service.objects.get(service_id=1).name == "Followers HQ"


@responses.activate
def test_a_service_missing_from_the_answer_becomes_inactive_and_comes_back(provider):
    answer(LIVE_JAP, DOC_STYLE)
    answer(LIVE_JAP)
    answer(LIVE_JAP, DOC_STYLE)
    catalog_sync(provider=provider)
    first_seen = Service.objects.get(service_id=1).first_seen_at

    gone = catalog_sync(provider=provider)
    assert (gone.deactivated, gone.unchanged) == (1, 1)
    assert Service.objects.get(service_id=1).active is False

    back = catalog_sync(provider=provider)
    assert (back.updated, back.unchanged, back.added) == (1, 1, 0)
    returned = Service.objects.get(service_id=1)
    assert returned.active is True
    assert returned.first_seen_at == first_seen


@responses.activate
def test_a_malformed_entry_is_skipped_and_counted_not_fatal(provider):
    answer(LIVE_JAP, {"service": "abc", "name": "Broken"}, {"name": "no id"}, DOC_STYLE)
    report = catalog_sync(provider=provider)
    assert (report.added, report.skipped) == (2, 2)
    assert CatalogSync.objects.get().skipped == 2


@responses.activate
def test_hostile_panel_values_are_skipped_or_cut_with_a_recorded_reason_and_no_negative_price(provider):
    answer(
        {**DOC_STYLE, "service": 11, "rate": "-0.50"},
        {**DOC_STYLE, "service": 12, "min": 5000, "max": 100},
        {**DOC_STYLE, "service": 13, "min": -10},
        {**DOC_STYLE, "service": 14, "rate": "1000000000000"},
        {**DOC_STYLE, "service": 15, "max": 10**20},
        {**DOC_STYLE, "service": 16, "type": "T" * 200},
        {**DOC_STYLE, "service": 17, "name": "N" * 5000, "category": "C" * 1000},
        DOC_STYLE,
    )
    report = catalog_sync(provider=provider)
    assert (report.added, report.skipped) == (2, 6)
    assert sorted(Service.objects.values_list("service_id", flat=True)) == [1, 17]
    cut = Service.objects.get(service_id=17)
    assert (len(cut.name), len(cut.category)) == (500, 255)
    run = CatalogSync.objects.get()
    assert (run.status, run.skipped) == (CatalogSync.Status.OK, 6)
    for reason in (
        "service 11: the rate -0.50 is negative",
        "service 12: the minimum 5,000 is above the maximum 100",
        "service 13: the limits -10–10000 are negative",
        "service 14: skipped, its rate is 1000000000000.00000 is beyond what the column holds",
        "service 15: skipped, its max quantity is 100000000000000000000 is beyond",
        "service 16: skipped, its type is longer than 100 characters",
        "service 17: name cut to 500 characters, category cut to 255 characters",
    ):
        assert reason in run.message
    assert json.loads(json.dumps(report.as_dict()))["notes"] == list(report.notes)


@responses.activate
def test_a_service_whose_panel_values_turn_bad_becomes_inactive_keeping_its_last_good_price(provider):
    answer(DOC_STYLE)
    answer({**DOC_STYLE, "rate": "-1"})
    catalog_sync(provider=provider)
    report = catalog_sync(provider=provider)
    assert (report.skipped, report.deactivated) == (1, 1)
    service = Service.objects.get(service_id=1)
    assert (service.active, service.rate) == (False, Decimal("0.9"))


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (503, "<html><title>Maintenance</title></html>", "503"),
        (200, '{"error":"Invalid API key"}', "Invalid API key"),
        (200, "not json at all", "not JSON"),
    ],
)
@responses.activate
def test_a_failing_provider_leaves_the_previous_catalog_intact_and_records_why(
    provider, status, body, message
):
    answer(LIVE_JAP, DOC_STYLE)
    catalog_sync(provider=provider)
    responses.add(responses.POST, API_URL, body=body, status=status, content_type="text/html")

    report = catalog_sync(provider=provider)

    assert message in report.error
    assert Service.objects.filter(active=True).count() == 2
    provider.refresh_from_db()
    assert message in provider.last_error
    assert provider.last_error_at is not None
    run = CatalogSync.objects.latest()
    assert run.status == CatalogSync.Status.FAILED
    assert message in run.message


def test_an_unreachable_provider_leaves_the_catalog_intact(provider):
    provider.api_url = "http://127.0.0.1:1/api/v2"
    provider.save()
    report = catalog_sync(provider=provider)
    assert report.error
    assert CatalogSync.objects.latest().status == CatalogSync.Status.FAILED


def test_two_syncs_of_one_provider_cannot_run_at_once(provider):
    catalog_sync_start(provider=provider)
    with pytest.raises(SyncAlreadyRunning):
        catalog_sync_start(provider=provider)


def test_a_run_left_running_by_a_dead_worker_does_not_block_the_provider_forever(provider):
    stale = catalog_sync_start(provider=provider)
    CatalogSync.objects.filter(pk=stale.pk).update(started_at=timezone.now() - timedelta(hours=2))
    fresh = catalog_sync_start(provider=provider)
    stale.refresh_from_db()
    assert stale.status == CatalogSync.Status.FAILED
    assert fresh.status == CatalogSync.Status.RUNNING


@responses.activate
def test_the_command_prints_one_json_line_per_provider(provider, capsys):
    Provider.objects.exclude(pk=provider.pk).update(active=False)
    answer(LIVE_JAP, DOC_STYLE)
    call_command("sync_catalog")
    line = json.loads(capsys.readouterr().out.strip())
    assert line == {
        "provider": "JAP",
        "added": 2,
        "updated": 0,
        "deactivated": 0,
        "unchanged": 0,
        "skipped": 0,
        "seconds": line["seconds"],
    }
    assert isinstance(line["seconds"], float)


@responses.activate
def test_the_command_fails_with_one_readable_line_when_a_provider_fails(provider, capsys):
    responses.add(
        responses.POST, API_URL, body='{"error":"Invalid API key"}', content_type="application/json"
    )
    with pytest.raises(CommandError, match="catalog sync failed: JAP: .*Invalid API key"):
        call_command("sync_catalog", "--provider", "JAP")
    assert json.loads(capsys.readouterr().out)["error"].endswith("Invalid API key")


def test_the_command_rejects_an_unknown_provider_name():
    with pytest.raises(CommandError, match="unknown provider 'Nope'"):
        call_command("sync_catalog", "--provider", "Nope")


@pytest.mark.django_db(transaction=True)
def test_a_sync_over_http_against_the_sandbox_brings_its_whole_catalog(live_server, settings):
    provider = Provider(name="Sandbox over HTTP", api_url=f"{live_server.url}/sandbox/api/v2")
    provider.set_api_key(settings.SANDBOX_API_KEY)
    provider.save()

    report = catalog_sync(provider=provider)

    assert report.error == ""
    assert report.added >= 200 and report.skipped == 0
    services = Service.objects.filter(provider=provider)
    assert services.values("platform").distinct().count() == len(Platform)
    assert services.filter(type="Custom Comments", refill=False).exists()
    assert catalog_sync(provider=provider).unchanged == report.added
