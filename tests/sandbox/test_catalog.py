"""The generated catalog: size, coverage, JAP-like names and idempotent seeding."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from providers.sandbox.catalog_data import UNLIMITED, catalog_generate
from providers.sandbox.models import Service, ServiceType
from providers.sandbox.services import service_catalog_ensure

pytestmark = pytest.mark.django_db

BRIEF_PLATFORMS = [
    "Instagram",
    "YouTube",
    "Facebook",
    "Twitter (X)",
    "TikTok",
    "LinkedIn",
    "Telegram",
    "Discord",
    "Spotify",
    "Twitch",
    "Website Traffic",
    "SEO",
    "Google",
    "App Stores",
]


def test_it_holds_at_least_200_services_of_every_type_and_platform() -> None:
    specs = catalog_generate()

    assert len(specs) >= 200
    assert {spec.type for spec in specs} == set(ServiceType.values)
    assert set(BRIEF_PLATFORMS) <= {spec.platform for spec in specs}
    assert len({spec.id for spec in specs}) == len(specs)
    assert len({spec.name for spec in specs}) == len(specs)


def test_it_covers_comments_reviews_mentions_and_app_stores() -> None:
    names = " ".join(spec.name for spec in catalog_generate())

    for word in (
        "Comments",
        "Reviews",
        "Mentions",
        "Google Play",
        "App Store (iOS)",
        "Maps",
        "Website Traffic",
    ):
        assert word in names


def test_names_rates_and_bounds_look_like_jap() -> None:
    specs = catalog_generate()
    followers = next(
        spec for spec in specs if spec.category == "Instagram Followers" and spec.refill_days == 30
    )

    assert followers.name == "Instagram Followers [Refill: 30D] [Max: 100K] [Start: 0-1 Hr] [Speed: 20K/D]"
    assert all(re.search(r"\[Start: [^\]]+\]", spec.name) for spec in specs)
    assert all(isinstance(spec.rate, Decimal) and spec.rate > 0 for spec in specs)
    assert any(spec.max == UNLIMITED for spec in specs)
    assert {spec.refill for spec in specs} == {True, False}
    assert {spec.cancel for spec in specs} == {True, False}
    assert {spec.dripfeed for spec in specs} == {True, False}


def test_it_generates_the_same_catalog_every_time() -> None:
    assert catalog_generate() == catalog_generate()


def test_seeding_is_idempotent_and_keeps_edits() -> None:
    added = service_catalog_ensure()
    Service.objects.filter(pk=1001).update(active=False)

    assert added == Service.objects.count() >= 200
    assert service_catalog_ensure() == 0
    assert not Service.objects.get(pk=1001).active


def test_seeding_restores_services_that_are_missing() -> None:
    service_catalog_ensure()
    Service.objects.filter(pk__in=[1001, 2001]).delete()

    assert service_catalog_ensure() == 2
    assert Service.objects.filter(pk__in=[1001, 2001]).count() == 2


def test_inactive_services_are_not_listed(api: object) -> None:
    service_catalog_ensure()
    Service.objects.filter(pk=1001).update(active=False)

    assert 1001 not in {item["service"] for item in api("services")}
