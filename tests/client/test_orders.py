"""OrderRequest: the per-type `add` fields of §1.4, checked before any money moves."""

from __future__ import annotations

import datetime

import pytest

from providers.client import SERVICE_TYPES, OrderFieldError, OrderRequest


def errors_of(service_type: str, **fields: object) -> dict[str, str]:
    with pytest.raises(OrderFieldError) as caught:
        OrderRequest.build(service=1, service_type=service_type, **fields)
    return caught.value.errors


def test_every_service_type_of_the_protocol_is_known():
    assert set(SERVICE_TYPES) == {
        "Default", "Package", "SEO", "Custom Comments", "Custom Comments Package", "Mentions",
        "Mentions with Hashtags", "Mentions Custom List", "Mentions Hashtag", "Mentions User Followers",
        "Mentions Media Likers", "Comment Likes", "Comment Replies", "Poll", "Invites from Groups",
        "Subscriptions", "Web Traffic",
    }  # fmt: skip


def test_a_default_order_is_normalised_for_the_wire():
    request = OrderRequest.build(service=5, service_type="Default", link=" https://ig/p/1 ", quantity="100")
    assert request.fields == {"link": "https://ig/p/1", "quantity": 100}


def test_a_drip_feed_needs_both_runs_and_interval():
    assert errors_of("Default", link="https://x", quantity=100, runs=2) == {
        "interval": "drip-feed needs both runs and interval"
    }


def test_comments_become_one_per_line_without_blank_lines():
    request = OrderRequest.build(
        service=1, service_type="Custom Comments", link="https://x", comments="good pic\r\n\r\ngreat photo\n"
    )
    assert request.fields["comments"] == "good pic\ngreat photo"


def test_missing_and_foreign_fields_are_named():
    assert errors_of("Package", quantity=10) == {
        "quantity": "not used by Package services",
        "link": "this field is required",
    }


def test_a_quantity_must_be_a_positive_whole_number():
    assert errors_of("Default", link="https://x", quantity="ten")["quantity"] == "expected a whole number"
    assert errors_of("Default", link="https://x", quantity=0)["quantity"] == "must be at least 1"


def test_a_subscription_checks_its_bounds_delay_and_expiry():
    errors = errors_of("Subscriptions", username="nasa", min=10, max=5, delay=7, expiry="2022-11-11")
    assert set(errors) == {"max", "delay", "expiry"}
    request = OrderRequest.build(
        service=1, service_type="Subscriptions", username="nasa", min=1, max=5, delay=0, posts=0,
        expiry=datetime.date(2022, 11, 11),
    )  # fmt: skip
    assert request.fields == {
        "username": "nasa",
        "min": 1,
        "max": 5,
        "delay": 0,
        "posts": 0,
        "expiry": "11/11/2022",
    }


def test_web_traffic_needs_the_keyword_or_referrer_its_traffic_type_names():
    common = {"link": "https://site", "quantity": 100, "country": "US", "device": 1}
    assert errors_of("Web Traffic", **common, type_of_traffic=1) == {
        "google_keyword": "required for Google Keyword traffic"
    }
    assert errors_of("Web Traffic", **common, type_of_traffic=2) == {
        "referring_url": "required for Custom Referrer traffic"
    }
    assert set(errors_of("Web Traffic", **{**common, "device": 9}, type_of_traffic=4)) == {
        "device",
        "type_of_traffic",
    }
    assert (
        OrderRequest.build(service=1, service_type="Web Traffic", **common, type_of_traffic=3).fields[
            "device"
        ]
        == 1
    )


def test_an_unknown_service_type_is_refused():
    assert errors_of("Teleportation", link="https://x") == {
        "type": "unsupported service type 'Teleportation'"
    }


def test_the_error_reads_as_one_line_per_field():
    with pytest.raises(
        OrderFieldError, match="^link: this field is required; quantity: this field is required$"
    ):
        OrderRequest.build(service=1, service_type="Default")
