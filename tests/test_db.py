"""The SQL helpers of the frame: seconds between two moments, percentiles, setting one column of many rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F, Q

from jappanel.db import Percentile, Seconds, bulk_set, percentile_cont

pytestmark = pytest.mark.django_db
JOINED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def people():
    """Five people who logged in 10, 20, 30, 40 and 100 seconds after joining, and one who never did."""
    users = get_user_model().objects
    for number, seconds in enumerate([10, 20, 30, 40, 100, None]):
        users.create(
            username=f"p{number}",
            date_joined=JOINED,
            last_login=None if seconds is None else JOINED + timedelta(seconds=seconds),
        )
    return users.all()


def test_percentiles_interpolate_like_postgresql_on_every_database(people):
    waited = Seconds(F("last_login"), F("date_joined"))

    figures = people.aggregate(
        median=Percentile(waited, 0.5),
        p90=Percentile(waited, 0.9),
        low=Percentile(waited, 0.9, filter=Q(username__in=["p0", "p1"])),
        none=Percentile(waited, 0.5, filter=Q(username="p5")),
    )

    assert figures["median"] == pytest.approx(30, abs=0.01)
    assert figures["p90"] == pytest.approx(76, abs=0.01)  # 40 + 0.6 × (100 − 40)
    assert figures["low"] == pytest.approx(19, abs=0.01)
    assert figures["none"] is None


def test_the_python_percentile_is_postgresqls_formula():
    assert percentile_cont([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile_cont([1.0, 2.0], 0.25) == 1.25
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([], 0.5) is None


def test_a_percentile_outside_0_and_1_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Percentile(F("id"), 90)


def test_bulk_set_gives_each_row_its_own_value_and_leaves_the_others(people):
    first, second, third = people.order_by("pk")[:3]

    bulk_set(get_user_model(), "first_name", {first.pk: "Ada", second.pk: "Grace"})

    names = dict(people.values_list("pk", "first_name"))
    assert (names[first.pk], names[second.pk], names[third.pk]) == ("Ada", "Grace", "")
