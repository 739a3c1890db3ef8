"""The pieces every list page shares: the filter base classes (jappanel.web.filters), the filter
form's partials and the keyset pager."""

from __future__ import annotations

from datetime import date

import pytest
from django.template import RequestContext, Template
from django.test import RequestFactory

from jappanel.web.filters import MAX_ID, DayRangeFilterSet, ListFilterSet, id_filter
from jappanel.web.pagination import KeysetPage
from orders.models import Order
from tests.factories import a_real_provider


def render(source: str, url: str = "/list/", **context: object) -> str:
    request = RequestFactory().get(url)
    return Template(source).render(RequestContext(request, context))


class Orders(DayRangeFilterSet):
    DAY_FIELD = "created_at"
    provider = id_filter("provider_id", "Provider")

    class Meta:
        model = Order
        fields: list[str] = []


def test_a_list_is_filtering_only_by_the_filters_it_names():
    class Sorted(ListFilterSet):
        provider = id_filter("provider_id", "Provider")
        FILTERS = ("provider",)

        class Meta:
            model = Order
            fields: list[str] = []

    assert Sorted({"provider": "3"}, queryset=Order.objects.none()).is_filtering
    assert not Sorted({"page": "2"}, queryset=Order.objects.none()).is_filtering


def test_with_no_filters_named_every_filter_narrows_the_list():
    assert Orders({"until": "2026-03-01"}, queryset=Order.objects.none()).is_filtering
    assert not Orders({"older": "5-2"}, queryset=Order.objects.none()).is_filtering


def test_an_id_that_cannot_be_one_is_left_out_not_applied():
    filters = Orders({"provider": str(MAX_ID + 1)}, queryset=Order.objects.none())
    assert not filters.is_filtering
    assert "provider" in filters.form.errors


@pytest.mark.django_db
def test_the_day_range_takes_both_days_whole():
    filters = Orders({"since": "2026-03-01", "until": "2026-03-01"}, queryset=Order.objects.all())
    sql = str(filters.qs.query)
    assert filters.form.cleaned_data["since"] == date(2026, 3, 1)
    assert 'created_at" >= 2026-03-01 00:00:00' in sql
    assert 'created_at" < 2026-03-02 00:00:00' in sql


@pytest.mark.django_db
def test_options_makes_pk_and_label_pairs_of_model_objects():
    provider = a_real_provider(name="Panel A")
    html = render(
        '{% load web %}{% include "partials/_filters.html#select" with url="/list/" name="provider"'
        ' label="Provider" blank="All providers" options=providers|options:"name" value=value only %}',
        providers=[provider],
        value=str(provider.pk),
    )
    assert '<option value="">All providers</option>' in html
    assert f'<option value="{provider.pk}" selected>Panel A</option>' in html
    assert 'hx-get="/list/"' in html


def test_the_search_box_swaps_the_list_itself_only_when_given_a_target():
    search = (
        '{% include "partials/_filters.html#search" with url="/l/" value="x" placeholder="p" TARGET only %}'
    )
    alone = render(search.replace("TARGET", ""))
    swapping = render(search.replace("TARGET", 'target="rows"'))
    assert "hx-target" not in alone
    assert 'hx-target="#rows" hx-swap="outerHTML" hx-push-url="true" hx-include="closest form"' in swapping


def test_the_keyset_pager_uses_the_pages_own_cursor_names_and_words():
    page = KeysetPage(rows=[], newer="10-1", older="5-2", count=3, estimated=False)
    html = render(
        '{% include "partials/_keyset_pager.html" with target="due" newer_key="sooner" older_key="later"'
        ' newer_word="Expiring sooner" older_word="Expiring later" no_newest=True %}',
        url="/due/?campaign=2&later=9-9",
        page=page,
    )
    assert 'href="?campaign=2&amp;sooner=10-1"' in html
    assert 'href="?campaign=2&amp;later=5-2"' in html
    assert "← Expiring sooner" in html and "Expiring later →" in html
    assert "Newest" not in html


def test_the_keyset_pager_defaults_to_newer_and_older_with_a_way_back_to_the_newest():
    page = KeysetPage(rows=[], newer="10-1", older=None, count=3, estimated=False)
    pager = '{% include "partials/_keyset_pager.html" with target="t" %}'
    html = render(pager, url="/l/?older=7-7", page=page)
    assert 'href="?newer=10-1"' in html
    assert ">Newest</a>" in html
    assert '<span class="muted">Older →</span>' in html
