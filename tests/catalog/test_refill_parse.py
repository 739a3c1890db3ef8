"""Reading a service's refill period from its flag and its name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog.refill import LIFETIME, UNSTATED_DAYS, refill_days_label, refill_days_parse

FORMS = [
    ("Instagram Followers [Refill: 30D] [Max: 100K]", 30),
    ("Instagram Followers [Refill: 30 Days]", 30),
    ("Instagram Followers [Refill 60D]", 60),
    ("Instagram Followers - Refill 90 Days", 90),
    ("Instagram Followers | Refill - 1 Month", 30),
    ("YouTube Subscribers [Refill: 1Y]", 365),
    ("TikTok Likes 30 Days Refill", 30),
    ("TikTok Likes | 30D Refill | Fast", 30),
    ("TikTok Likes 30-Day Refill", 30),
    ("Spotify Plays 45 Days Auto Refill", 45),
    ("Spotify Plays 2 Weeks Refill", 14),
    ("YouTube Views 1 Year Refill", 365),
    ("Instagram Followers R30", 30),
    ("Instagram Followers R60D - HQ", 60),
    ("Instagram Followers (R365)", 365),
    ("Instagram Followers ♻️ 30D", 30),
    ("Instagram Followers ♻ 30 Days", 30),
    ("Instagram Followers ♻️30D", 30),
    ("Instagram Followers Lifetime Refill", LIFETIME),
    ("Instagram Followers [Refill: Lifetime]", LIFETIME),
    ("Instagram Followers Refill Lifetime", LIFETIME),
    ("Instagram Followers ♻️ Lifetime", LIFETIME),
    ("Instagram Followers Life Time Refill", LIFETIME),
    ("Instagram Followers [No Refill]", 0),
    ("Instagram Followers No Refill [30D guarantee on drops? no]", 0),
    ("Instagram Followers Non-Refill", 0),
    ("Instagram Followers Non Refill", 0),
    ("Instagram Followers [Refill: No]", 0),
    ("Instagram Followers [Refill: None]", 0),
    ("Instagram Followers 0 Days Refill", 0),
    ("instagram followers [refill: 30d]", 30),
    ("INSTAGRAM FOLLOWERS 30 DAYS REFILL", 30),
]


@pytest.mark.parametrize(("name", "days"), FORMS)
def test_each_usual_form_of_a_refill_guarantee_is_read(name, days):
    assert refill_days_parse(name, True) == days


@pytest.mark.parametrize(
    "name",
    [
        "Instagram Followers [Max: 100K] [Start: 0-1 Hr]",
        "Instagram Followers 10K Real",
        "Instagram Followers [Speed: 20K/D]",
        "Refill available",
    ],
)
def test_a_flagged_service_whose_name_states_no_period_gets_the_usual_one(name):
    assert refill_days_parse(name, True) == UNSTATED_DAYS


def test_numbers_that_are_no_period_are_not_read_as_one():
    assert refill_days_parse("Instagram Followers [Max: 100K] [Speed: 20K/D] 30 Days Refill", True) == 30
    assert refill_days_parse("Views R2D2 Edition [Refill: 30D]", True) == 30


@pytest.mark.parametrize("name", [name for name, _ in FORMS])
def test_a_service_the_panel_flags_without_refill_has_none_whatever_its_name(name):
    assert refill_days_parse(name, False) == 0


def test_an_absurd_period_is_capped_at_lifetime():
    assert refill_days_parse("Followers [Refill: 99999Y]", True) == LIFETIME


def test_a_number_too_long_to_be_a_period_is_no_period():
    assert refill_days_parse("Followers R" + "9" * 5000, True) == UNSTATED_DAYS


@given(name=st.text(max_size=300), refill=st.booleans())
@hypothesis_settings(max_examples=400)
def test_reading_any_name_never_raises_and_gives_a_bounded_period(name, refill):
    days = refill_days_parse(name, refill)
    assert 0 <= days <= LIFETIME
    assert refill or days == 0


@given(days=st.integers(min_value=0, max_value=LIFETIME), unit=st.sampled_from(["D", " Days", "-Day"]))
@hypothesis_settings(max_examples=200)
def test_a_stated_number_of_days_is_read_back(days, unit):
    assert refill_days_parse(f"Likes [Refill: {days}{unit}]", True) == min(days, LIFETIME)


@pytest.mark.parametrize(
    ("days", "label"),
    [(0, "No refill"), (None, "No refill"), (1, "1 day"), (30, "30 days"), (LIFETIME, "Lifetime")],
)
def test_a_period_reads_as_a_person_says_it(days, label):
    assert refill_days_label(days) == label
