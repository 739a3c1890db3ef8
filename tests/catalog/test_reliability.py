"""The scorecards where a service is chosen in the catalog: the Reliability column and sort, the panel."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Scorecard
from tests.factories import ProviderFactory, ServiceFactory

pytestmark = pytest.mark.django_db
LIST_URL = reverse("catalog:service_list")


def listed_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'<span class="service-id">(\d+)</span>', response.content.decode())]


def scored(service, days: int = 30, **counts: int) -> Scorecard:
    """A stored card of `service`, and the service's reliability as the refresh would write it."""
    card = Scorecard.objects.create(provider=service.provider, service=service, days=days, **counts)
    if days == Scorecard.RELIABILITY_DAYS:
        service.reliability = card.reliability
        service.save(update_fields=["reliability"])
    return card


@pytest.fixture
def catalog(no_sandbox):
    jap = ProviderFactory(name="JAP")
    return {
        "steady": ServiceFactory(provider=jap, service_id=1, rate=Decimal("3.00000")),
        "shaky": ServiceFactory(provider=jap, service_id=2, rate=Decimal("1.00000")),
        "new": ServiceFactory(provider=jap, service_id=3, rate=Decimal("0.50000")),
        "few": ServiceFactory(provider=jap, service_id=4, rate=Decimal("0.75000")),
    }


def test_the_catalog_shows_each_services_reliability_and_what_it_rests_on(buyer_client, catalog):
    scored(catalog["steady"], orders=50, completed=46, partial=2, canceled=2)
    scored(catalog["few"], orders=9, completed=9)

    html = buyer_client.get(LIST_URL).content.decode()

    row = {m[0]: m[1] for m in re.findall(r'service-id">(\d+)</span>(.*?)</tr>', html, re.S)}
    assert "Reliability" in html
    assert "92%" in row["1"] and "of 50 orders" in row["1"]
    # Nine out of nine completed would read "100%": too few to say anything.
    assert "too few orders to judge" in row["4"] and "%" not in row["4"].split("reliability")[-1]
    assert "too few orders to judge" in row["3"]


def test_sorting_by_reliability_puts_the_best_first_and_those_too_new_to_judge_last(buyer_client, catalog):
    scored(catalog["steady"], orders=40, completed=39, rejected=1)
    scored(catalog["shaky"], orders=40, completed=20, partial=20)

    response = buyer_client.get(f"{LIST_URL}?sort=reliability")

    assert listed_ids(response)[:2] == [1, 2]
    assert set(listed_ids(response)[2:]) == {3, 4}
    assert 'aria-sort="descending"' in response.content.decode()
    assert (
        '<option value="reliability" selected>Reliability: best first</option>' in response.content.decode()
    )


def test_the_service_panel_shows_its_record_over_30_and_90_days(buyer_client, catalog):
    scored(catalog["steady"], 30, orders=12, completed=10, partial=1, rejected=1, starts=12, start_median=600,
           start_p90=5400, delivered_orders=11, quantity_ordered=1100, quantity_delivered=1050)  # fmt: skip
    scored(catalog["steady"], 90, orders=30, completed=28, rejected=2)

    html = buyer_client.get(reverse("catalog:service_detail", args=[catalog["steady"].pk])).content.decode()

    assert "Last 30 days" in html and "Last 90 days" in html
    assert "83%" in html and "completed" in html  # 10 of 12
    assert "95%" in html  # 1,050 of 1,100 delivered
    assert "10 min" in html and "1 h 30 min" in html
    assert "93%" in html  # 28 of 30, over 90 days
    assert html.count("too few refills to judge") == 2


def test_a_service_never_ordered_says_too_few_orders_to_judge_and_no_percentage(buyer_client, catalog):
    html = buyer_client.get(reverse("catalog:service_detail", args=[catalog["new"].pk])).content.decode()

    record = html[
        html.index("Our record with it") : html.index("</section>", html.index("Our record with it"))
    ]
    assert record.count("too few orders to judge") == 8  # four figures, two windows
    assert "%" not in record
