"""The queries of the orders pages: list filters, search, keyset pages (jappanel.web.pagination)
and the dashboard's figures.

`order_page()` is the whole list query without a request, for the benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from catalog.platforms import Platform
from jappanel.web.filters import DayRangeFilterSet, ListFilterSet, day_start, id_filter
from jappanel.web.pagination import MAX_ID_DIGITS, KeysetPage, keyset_page
from orders.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    OPEN_STATUSES,
    Order,
    OrderStatus,
    Refill,
    RefillStatus,
)
from orders.services.guarantees import DUE_AFTER_DAYS, MAX_DUE_AFTER_DAYS, refills_due
from orders.services.policy import requesters_barred_for
from orders.services.spend import real_money

STATUS_GROUPS = {
    "open": ("Open (not finished)", Q(status__in=OPEN_STATUSES)),
    "attention": (
        "Needs attention",
        Q(needs_attention=True) | Q(status__in=(OrderStatus.UNCONFIRMED, OrderStatus.REJECTED)),
    ),
}


class OrderFilter(DayRangeFilterSet):
    """Search and filters of the orders page, read from its query string."""

    DAY_FIELD = "created_at"

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(
        choices=[*((key, label) for key, (label, _) in STATUS_GROUPS.items()), *OrderStatus.choices],
        method="by_status",
        label="Status",
    )
    platform = django_filters.ChoiceFilter(field_name="service__platform", choices=Platform.choices)
    service = id_filter("service__service_id", "Service id")
    provider = id_filter("provider_id", "Provider")
    person = id_filter("user_id", "Person")
    campaign = id_filter("campaign_id", "Campaign")
    codes = django_filters.CharFilter(method="by_codes", label="Orders")

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset", Order.objects.select_related("service", "provider", "user").defer("service__raw")
        )
        super().__init__(data, **kwargs)

    def search(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        """An order code, a provider order id, or else a piece of the link.

        A code or an id is looked up exactly, on its index: OR-ing it with the link search would
        scan every order; the link search alone uses its trigram index.
        """
        value = value.strip().removeprefix("#")
        code = value.upper()
        if len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET):
            return queryset.filter(code=code)
        if value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
            return queryset.filter(provider_order_id=int(value))
        return queryset.filter(link__icontains=value) if value else queryset

    def by_status(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        if value in STATUS_GROUPS:
            return queryset.filter(STATUS_GROUPS[value][1])
        return queryset.filter(status=value)

    def by_codes(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return queryset.filter(code__in=value.replace(",", " ").upper().split())


class RefillFilter(DayRangeFilterSet):
    """Filters of the refills page."""

    DAY_FIELD = "requested_at"

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(
        choices=[("open", "Open"), *RefillStatus.choices], method="by_status"
    )
    provider = id_filter("order__provider_id", "Provider")

    class Meta:
        model = Refill
        fields: list[str] = []

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset",
            Refill.objects.select_related("order__service", "order__provider", "user").defer(
                "order__service__raw"
            ),
        )
        super().__init__(data, **kwargs)

    def search(self, queryset: QuerySet[Refill], name: str, value: str) -> QuerySet[Refill]:
        value = value.strip().removeprefix("#")
        if not value:
            return queryset
        condition = Q(order__code=value.upper()) | Q(order__link__icontains=value)
        if value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
            condition |= Q(provider_refill_id=int(value)) | Q(order__provider_order_id=int(value))
        return queryset.filter(condition)

    def by_status(self, queryset: QuerySet[Refill], name: str, value: str) -> QuerySet[Refill]:
        if value == "open":
            return queryset.filter(finished_at__isnull=True)
        return queryset.filter(status=value)


class RefillDueFilter(ListFilterSet):
    """Filters of the Refills due page; the rows come from `orders.services.guarantees.refills_due`."""

    campaign = id_filter("campaign_id", "Campaign")
    provider = id_filter("provider_id", "Provider")
    platform = django_filters.ChoiceFilter(
        field_name="service__platform", choices=Platform.choices, label="Platform"
    )
    days = django_filters.NumberFilter(
        method="not_refilled_in",
        label="Not refilled in (days)",
        min_value=1,
        max_value=MAX_DUE_AFTER_DAYS,
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, now: datetime | None = None, **kwargs: Any
    ) -> None:
        self.now = now or timezone.now()
        super().__init__(data, **kwargs)

    @property
    def due_after_days(self) -> int:
        self.is_valid()
        return int(self.form.cleaned_data.get("days") or DUE_AFTER_DAYS)

    @property
    def qs(self) -> QuerySet[Order]:
        # The window, the pending rule and "not in N days" need `now`: one query built whole.
        self.is_valid()
        data = self.form.cleaned_data
        return refills_due(
            now=self.now,
            days=self.due_after_days,
            campaign_id=int(data["campaign"]) if data.get("campaign") is not None else None,
            provider_id=int(data["provider"]) if data.get("provider") is not None else None,
            platform=data.get("platform") or None,
        )

    def not_refilled_in(self, queryset: QuerySet[Order], name: str, value: Any) -> QuerySet[Order]:
        return queryset


# Each due order costs two anti-joins: counted exactly up to this many, estimated above.
DUE_EXACT_COUNT_LIMIT = 1000


def refills_due_page(
    data: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[RefillDueFilter, KeysetPage]:
    """The Refills due page for `data` (its query string), expiring soonest first."""
    filterset = RefillDueFilter(data, now=now)
    page = keyset_page(
        filterset.qs,
        field="refill_until",
        older=data.get("later"),
        newer=data.get("sooner"),
        soonest_first=True,
        exact_count_limit=DUE_EXACT_COUNT_LIMIT,
    )
    return filterset, page


def order_page(data: Mapping[str, Any]) -> tuple[OrderFilter, KeysetPage]:
    """The orders page for `data` (its query string): the filters and the page of orders."""
    filterset = OrderFilter(data)
    page = keyset_page(filterset.qs, field="created_at", older=data.get("older"), newer=data.get("newer"))
    return filterset, page


# The dashboard --------------------------------------------------------------------------------------

SPEND_WINDOWS = {"today": 0, "7 days": 7, "30 days": 30}
CHART_DAYS = 30
ATTENTION_ROWS = 8
RECENT_ROWS = 8


def _spent() -> QuerySet[Order]:
    """Orders the panel took and did not cancel: their charge (or estimate until reported) left.
    Sandbox orders spend no real money and are left out."""
    return real_money(Order.objects.filter(submitted_at__isnull=False).exclude(status=OrderStatus.CANCELED))


def spend_by_window(
    per_currency: dict[str, list[tuple[date, Decimal]]],
) -> list[tuple[str, list[tuple[str, Decimal]]]]:
    """(window, [(currency, amount)]) for today, the last 7 and the last 30 days, from
    `spend_per_day()`."""
    return [
        (
            label,
            [
                (currency, sum((amount for _, amount in days[-max(window, 1) :]), Decimal(0)))
                for currency, days in per_currency.items()
            ],
        )
        for label, window in SPEND_WINDOWS.items()
    ]


def spend_per_day(
    *, now: datetime | None = None, currency_if_none: str = "USD"
) -> dict[str, list[tuple[date, Decimal]]]:
    """Spend of each of the last CHART_DAYS days, oldest first, per currency: amounts in two
    currencies are never added up. The currency spent most comes first; with no spend at all,
    `currency_if_none` with a row of zeros."""
    today = timezone.localdate(now)
    first = today - timedelta(days=CHART_DAYS - 1)
    rows = (
        _spent()
        .filter(submitted_at__gte=day_start(first))
        .annotate(day=TruncDate("submitted_at"))
        .values("currency", "day")
        .annotate(total=Sum(Coalesce("charge", "estimated_charge")))
        .order_by()
    )
    totals: dict[str, dict[date, Decimal]] = {}
    for row in rows:
        totals.setdefault(row["currency"], {})[row["day"]] = row["total"] or Decimal(0)
    days = [first + timedelta(days=n) for n in range(CHART_DAYS)]
    currencies = sorted(totals, key=lambda currency: (-sum(totals[currency].values()), currency))
    return {
        currency: [(day, totals.get(currency, {}).get(day, Decimal(0))) for day in days]
        for currency in currencies or [currency_if_none]
    }


def open_by_status() -> list[tuple[str, str, int]]:
    """(status, label, count) of the orders not finished yet, in the order of their life."""
    counts = dict(
        Order.objects.filter(status__in=OPEN_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [(status.value, status.label, counts[status]) for status in OrderStatus if counts.get(status)]


def needing_attention() -> QuerySet[Order]:
    """Unconfirmed, rejected, partial or erroring orders of the last week, newest first."""
    week_ago = timezone.now() - timedelta(days=7)
    recent_problem = Q(status__in=(OrderStatus.REJECTED, OrderStatus.PARTIAL), created_at__gte=week_ago)
    return (
        Order.objects.filter(Q(needs_attention=True) | Q(status=OrderStatus.UNCONFIRMED) | recent_problem)
        .select_related("service", "provider")
        .defer("service__raw")
        .order_by("-created_at", "-pk")[:ATTENTION_ROWS]
    )


def orders_to_decide(user: Any) -> QuerySet[Order]:
    """Orders waiting for approval that `user` may decide on (the four-eyes rule), oldest first."""
    waiting = Order.objects.filter(status=OrderStatus.AWAITING_APPROVAL)
    return (
        waiting.exclude(user_id__in=requesters_barred_for(user))
        .select_related("service", "provider", "user", "campaign")
        .defer("service__raw")
        .order_by("created_at", "pk")[:ATTENTION_ROWS]
    )


def own_orders_awaiting_decision(user: Any) -> QuerySet[Order]:
    """`user`'s orders waiting for approval, and those declined this week, newest first."""
    week_ago = timezone.now() - timedelta(days=7)
    return (
        Order.objects.filter(user_id=user.pk)
        .filter(
            Q(status=OrderStatus.AWAITING_APPROVAL)
            | Q(status=OrderStatus.DECLINED, status_changed_at__gte=week_ago)
        )
        .select_related("service", "provider")
        .defer("service__raw")
        .order_by("-created_at", "-pk")[:ATTENTION_ROWS]
    )


def recent_orders() -> QuerySet[Order]:
    return (
        Order.objects.select_related("service", "provider")
        .defer("service__raw")
        .order_by("-created_at", "-pk")[:RECENT_ROWS]
    )
