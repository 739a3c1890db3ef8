"""The catalog query: every search, filter and sort of the services page is built here.

`catalog_page_queryset()` is the same query without a request, for the benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import Any

import django_filters
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.models import CatalogSync, Favourite, Scorecard, Service, ServicePriceChange, ShortlistEntry
from catalog.platforms import Platform
from jappanel.web.filters import ListFilterSet, id_filter
from jappanel.web.pagination import MAX_ID_DIGITS

# Every order ends on the primary key so that pages never overlap or skip a row.
SORTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "rate": ("Rate: low to high", ("rate", "pk")),
    "-rate": ("Rate: high to low", ("-rate", "-pk")),
    "min": ("Min: low to high", ("min_quantity", "pk")),
    "-max": ("Max: high to low", ("-max_quantity", "pk")),
    "name": ("Name: A to Z", ("name", "pk")),
    # Services too new to judge last (catalog_service_reliability, made by migration 0006).
    "reliability": ("Reliability: best first", (F("reliability").desc(nulls_last=True), "pk")),
}
DEFAULT_SORT = "rate"
TREND_DAYS = 7


def first_synced_at() -> Subquery:
    """When the service's provider first finished a sync: what was there then is not "new"."""
    return Subquery(
        CatalogSync.objects.filter(provider=OuterRef("provider"), status=CatalogSync.Status.OK)
        .order_by("started_at")
        .values("finished_at")[:1]
    )


def reliability_orders() -> Subquery:
    """How many of the service's recent orders ended: what its reliability rests on."""
    return Subquery(
        Scorecard.objects.filter(service=OuterRef("pk"), days=Scorecard.RELIABILITY_DAYS)
        .annotate(ended=F("completed") + F("partial") + F("canceled") + F("rejected") + F("unconfirmed"))
        .values("ended")[:1]
    )


def browse_queryset(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Service]:
    """Active services of active providers with what a table row shows: provider, starred, rate
    a week ago, what its reliability rests on. A switched-off provider's services (the sandbox's,
    once a real provider is in use) are not offered: they could not be ordered anyway."""
    week_ago = timezone.now() - timedelta(days=TREND_DAYS)
    # The rate before the oldest change of the week: the row's marker compares it with today's.
    week_old_rate = (
        ServicePriceChange.objects.filter(service=OuterRef("pk"), changed_at__gte=week_ago)
        .order_by("changed_at")
        .values("old_rate")[:1]
    )
    return (
        Service.objects.filter(active=True, provider__active=True)
        .select_related("provider", "shortlist")
        .defer("raw")
        .annotate(
            is_favourite=Exists(Favourite.objects.filter(user_id=user.pk, service=OuterRef("pk"))),
            week_old_rate=Subquery(week_old_rate),
            first_synced_at=first_synced_at(),
            reliability_orders=reliability_orders(),
        )
        .order_by(*SORTS[DEFAULT_SORT][1])
    )


class ServiceFilter(ListFilterSet):
    """Search, filters and sort of the catalog page, read from its query string."""

    q = django_filters.CharFilter(method="search", label="Search")
    provider = id_filter("provider_id", "Provider")
    platform = django_filters.ChoiceFilter(choices=Platform.choices, label="Platform")
    # Free text rather than choices: validating against the category list would cost a query
    # on every keystroke; an unknown category simply matches nothing.
    category = django_filters.CharFilter(label="Category")
    type = django_filters.CharFilter(label="Type")
    refill = django_filters.BooleanFilter(label="Refill")
    cancel = django_filters.BooleanFilter(label="Cancel")
    dripfeed = django_filters.BooleanFilter(label="Drip-feed")
    favourites = django_filters.BooleanFilter(method="only_favourites", label="Favourites only")
    shortlisted = django_filters.BooleanFilter(method="only_shortlisted", label="On the shortlist only")
    tag = django_filters.CharFilter(method="tagged", label="Shortlist tag")
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in SORTS.items()], method="order", label="Sort by"
    )

    FILTERS = (
        "q",
        "provider",
        "platform",
        "category",
        "type",
        "refill",
        "cancel",
        "dripfeed",
        "favourites",
        "shortlisted",
        "tag",
    )

    class Meta:
        model = Service
        fields: list[str] = []

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, user: AbstractBaseUser | AnonymousUser, **kwargs: Any
    ) -> None:
        kwargs.setdefault("queryset", browse_queryset(user))
        super().__init__(data, **kwargs)

    def search(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        value = value.strip()
        if not value:
            return queryset
        # icontains compiles to UPPER(col) LIKE UPPER(%s): the trigram indexes on UPPER(name)
        # and UPPER(category) answer it on PostgreSQL.
        condition = Q(name__icontains=value) | Q(category__icontains=value)
        # The team's names for its services are searched apart, in the small shortlist table: an
        # OR across the join would keep PostgreSQL from combining the trigram indexes.
        house_named = list(
            ShortlistEntry.objects.filter(house_name__icontains=value).values_list("service_id", flat=True)
        )
        if house_named:
            condition |= Q(pk__in=house_named)
        digits = value.removeprefix("#")
        if digits.isascii() and digits.isdigit() and len(digits) <= MAX_ID_DIGITS:
            condition |= Q(service_id=int(digits))
        return queryset.filter(condition)

    def only_favourites(self, queryset: QuerySet[Service], name: str, value: bool) -> QuerySet[Service]:
        return queryset.filter(is_favourite=True) if value else queryset

    def only_shortlisted(self, queryset: QuerySet[Service], name: str, value: bool) -> QuerySet[Service]:
        return queryset.filter(shortlist__isnull=False) if value else queryset

    def tagged(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        tag = ShortlistEntry.tags_clean(value)
        if not tag:
            return queryset
        # Tags are stored as "a, b, c" (ShortlistEntry.tags_clean): a whole tag is the whole
        # field, or ends at ", ", or starts after one.
        return queryset.filter(
            Q(shortlist__tags=tag)
            | Q(shortlist__tags__startswith=f"{tag}, ")
            | Q(shortlist__tags__endswith=f", {tag}")
            | Q(shortlist__tags__contains=f", {tag}, ")
        )

    def order(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        return queryset.order_by(*SORTS[value][1])


def catalog_page_queryset(
    data: Mapping[str, Any], *, user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Service]:
    """The services the catalog page lists for `data` (its query string), in order."""
    return ServiceFilter(data, user=user).qs


class ShortlistFirst:
    """The rows of a catalog query with the shortlisted services first, each part in its sort.

    Not one ORDER BY (shortlisted first, then the sort): PostgreSQL could no longer walk the
    sort's index and would sort every matching row for each page (150 ms by name at 50,000
    services instead of 35). The count also counts the shortlisted rows; a page then reads the
    shortlisted rows, the others, or both on the one page where the first part ends. The count
    and the others ask `id IN (the shortlist's ids)`, not a join: a hashed lookup that keeps
    their plans as they were.
    """

    def __init__(self, queryset: QuerySet[Service]) -> None:
        self.queryset = queryset
        self.listed = Q(pk__in=ShortlistEntry.objects.values("service_id"))

    @cached_property
    def _counts(self) -> dict[str, int]:
        return self.queryset.aggregate(total=Count("pk"), listed=Count("pk", filter=self.listed))

    def count(self) -> int:
        return self._counts["total"]

    def __getitem__(self, rows: slice) -> list[Service]:
        start, stop, listed = rows.start or 0, rows.stop, self._counts["listed"]
        page: list[Service] = []
        if start < listed:
            # Joined, so that the planner starts from the few shortlist rows.
            page += self.queryset.filter(shortlist__isnull=False)[start : min(stop, listed)]
        if listed == 0:
            # No shortlisted row matches: the plain query, without the NOT IN filter.
            return list(self.queryset[start:stop])
        if stop > listed:
            # A full page's LIMIT even when only a few rows are wanted (see _FullPagePaginator).
            skip = max(start - listed, 0)
            rest = list(self.queryset.exclude(self.listed)[skip : skip + stop - start])
            page += rest[: stop - max(start, listed)]
        return page
