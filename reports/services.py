"""Spend reports: orders of a period grouped by campaign, person, provider, platform or category,
per currency, in one aggregate query.

Net spend is `budget_spent`'s definition written as one SQL expression, `order_spend()` (both
in orders/services/spend.py), so a report and a budget check never disagree about what a campaign
spent; tests/reports/test_report.py holds them to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Greatest, TruncDate
from django.utils import timezone
from django.utils.formats import date_format

from catalog.platforms import Platform
from orders.models import (
    COMMITTED_STATUSES,
    DELIVERED_STATUSES,
    MOVING_STATUSES,
    REFUNDED_STATUSES,
    Order,
    OrderStatus,
)
from orders.services.common import ACCURACY, ZERO
from orders.services.spend import AMOUNT, order_spend, real_money
from providers.models import Provider, is_sandbox_url
from team.models import Campaign

# The status columns of a report, and the status filter: every status is in exactly one.
STATUS_GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "completed": ("Completed", DELIVERED_STATUSES),
    "in_progress": ("In progress", MOVING_STATUSES),
    "failed": ("Failed or canceled", REFUNDED_STATUSES),
    "waiting": ("Waiting for approval", frozenset({OrderStatus.AWAITING_APPROVAL})),
    "unconfirmed": ("Unconfirmed", frozenset({OrderStatus.UNCONFIRMED})),
}
# A daily line over more days than this would be a smear; the table stays.
MAX_CHART_DAYS = 366


def _aggregates() -> dict[str, Any]:
    """The columns of a report row, each one conditional Sum or Count over the group's orders.

    Charged is left out: for every order charged = net + refunded − committed (a partial order
    was charged the larger of its estimate and its spend and got the difference back; a canceled
    one got its charge back), so it is worked out from the sums instead of costing a third
    evaluation of `order_spend()` per row.
    """
    spend = order_spend()
    refunded = Case(
        When(status=OrderStatus.PARTIAL, then=Greatest(F("estimated_charge") - spend, Value(ZERO))),
        When(status__in=REFUNDED_STATUSES, then=F("charge")),
        output_field=AMOUNT,
    )
    return {
        "orders": Count("pk"),
        "committed": Sum("estimated_charge", filter=Q(status__in=COMMITTED_STATUSES, charge__isnull=True)),
        "refunded": Sum(refunded),
        "net": Sum(spend),
        **{
            f"n_{key}": Count("pk", filter=Q(status__in=statuses))
            for key, (_, statuses) in STATUS_GROUPS.items()
        },
    }


@dataclass(frozen=True)
class Grouping:
    """A way to group orders: the column that identifies a group and where its name is.

    The aggregate groups by the bare key (an id, or a service's platform or category) and the
    names, with a campaign's budget, are read afterwards in one query by primary key: joining
    them into the aggregate would sort wide rows instead of hashing a few narrow ones.
    """

    label: str
    key: str
    none_label: str
    # The orders page's filter for one group, for a link from the row ("": it has none).
    orders_param: str = ""
    model: str = ""  # where a key's name is, as "app_label.Model" ("": the key is the name)
    name: str = ""
    extra: tuple[str, ...] = ()

    def names(self, keys: Iterable[Any]) -> dict[Any, dict[str, Any]]:
        """The name (and `extra` fields) of each of `keys`, in one query; none for a bare key."""
        if not self.model:
            return {}
        rows = apps.get_model(self.model).objects.filter(pk__in=keys).values("pk", self.name, *self.extra)
        return {row["pk"]: row for row in rows}

    def title(self, key: Any, names: Mapping[Any, Mapping[str, Any]]) -> str:
        if key in (None, ""):
            return self.none_label
        if self.model:
            return str(names[key][self.name])
        return Platform(key).label if self.key == "service__platform" else str(key)


GROUPINGS: dict[str, Grouping] = {
    "campaign": Grouping(
        "Campaign",
        "campaign_id",
        "No campaign",
        "campaign",
        "team.Campaign",
        "name",
        ("monthly_budget", "currency"),
    ),
    "person": Grouping(
        "Person", "user_id", "No person (account removed)", "person", settings.AUTH_USER_MODEL, "username"
    ),
    "provider": Grouping(
        "Provider", "provider_id", "No provider", "provider", "providers.Provider", "name", ("api_url",)
    ),
    "platform": Grouping("Platform", "service__platform", "No platform", "platform"),
    "category": Grouping("Category", "service__category", "No category"),
}


@dataclass
class ReportRow:
    """One group's figures in one currency (or a currency's totals)."""

    key: Any
    label: str
    currency: str
    orders: int = 0
    committed: Decimal = ZERO
    charged: Decimal = ZERO
    refunded: Decimal = ZERO
    net: Decimal = ZERO
    statuses: dict[str, int] = field(default_factory=dict)
    budget: Decimal | None = None
    total: bool = False
    is_sandbox: bool = False  # a provider's row, when it is the sandbox

    @property
    def catch_all(self) -> bool:
        """The row of the orders with no group ("No campaign")."""
        return not self.total and self.key in (None, "")

    @property
    def status_counts(self) -> list[int]:
        """The counts of the status columns, in the order of STATUS_GROUPS."""
        return [self.statuses.get(key, 0) for key in STATUS_GROUPS]

    @property
    def used(self) -> Decimal | None:
        """The share of the monthly budget spent, in percent, unrounded."""
        if not self.budget:
            return None
        return self.net * 100 / self.budget

    def add(self, other: ReportRow) -> None:
        self.orders += other.orders
        self.committed += other.committed
        self.charged += other.charged
        self.refunded += other.refunded
        self.net += other.net
        for key, count in other.statuses.items():
            self.statuses[key] = self.statuses.get(key, 0) + count


@dataclass
class CurrencySection:
    """The rows of one currency, their totals, and the daily net spend when drawn."""

    currency: str
    rows: list[ReportRow]
    total: ReportRow
    days: list[tuple[date, Decimal]] = field(default_factory=list)


@dataclass
class Report:
    """A report of the orders created from `start` to `end`, one section per currency."""

    start: date
    end: date
    grouping: Grouping
    month: bool
    sections: list[CurrencySection]
    # Whether sandbox orders were counted (asked for, or the sandbox provider chosen).
    includes_sandbox: bool = False

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def span(self) -> str:
        """The period in words: "in November 2026", "on 3 Nov 2026", "from 3 Nov 2026 to 9 Nov 2026"."""
        if self.month:
            return f"in {date_format(self.start, 'F Y')}"
        if self.start == self.end:
            return f"on {date_format(self.start, 'j M Y')}"
        return f"from {date_format(self.start, 'j M Y')} to {date_format(self.end, 'j M Y')}"

    @property
    def status_labels(self) -> list[str]:
        return [label for label, _ in STATUS_GROUPS.values()]

    @property
    def with_budgets(self) -> bool:
        """Whether the table has the budget columns: campaigns over one calendar month."""
        return self.month and self.grouping is GROUPINGS["campaign"]


def percent(value: Decimal | None) -> Decimal | None:
    """A share in percent as the table and the CSV show it: one decimal."""
    return None if value is None else value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def report_csv_rows(report: Report) -> Iterator[list[str]]:
    """The report's table as CSV rows: the header, then each currency's groups and total.

    Amounts are exact Decimal strings; the columns are the table's, in its order.
    """
    header = [report.grouping.label, "Currency", "Orders", "Committed", "Charged", "Refunded", "Net spend"]
    if report.with_budgets:
        header += ["Monthly budget", "% used"]
    header += report.status_labels
    yield header
    for section in report.sections:
        for row in [*section.rows, section.total]:
            label = f"{row.label} (Sandbox — no real money)" if row.is_sandbox else row.label
            cells = [label, row.currency, str(row.orders)]
            cells += [str(amount) for amount in (row.committed, row.charged, row.refunded, row.net)]
            if report.with_budgets:
                used = percent(row.used)
                cells += ["" if row.budget is None else str(row.budget), "" if used is None else str(used)]
            cells += [str(count) for count in row.status_counts]
            yield cells


def _amount(value: Decimal | None) -> Decimal:
    """A sum as a five-place Decimal: SQLite's float sums and PostgreSQL's numeric ones alike."""
    return (value or ZERO).quantize(ACCURACY, rounding=ROUND_HALF_UP)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The first instant of `start` and the first instant after `end`, in the current time zone."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def report_orders(
    *,
    start: date,
    end: date,
    provider: Provider | None = None,
    campaign: Campaign | None = None,
    status: str = "",
    include_sandbox: bool = False,
) -> QuerySet[Order]:
    """The orders a report counts: created from `start` to `end` (inclusive), filtered; sandbox
    orders only when `include_sandbox` (see `includes_sandbox`)."""
    low, high = _bounds(start, end)
    orders = Order.objects.filter(created_at__gte=low, created_at__lt=high).order_by()
    if not includes_sandbox(include_sandbox=include_sandbox, provider=provider):
        orders = real_money(orders)
    if provider is not None:
        orders = orders.filter(provider=provider)
    if campaign is not None:
        orders = orders.filter(campaign=campaign)
    if status:
        orders = orders.filter(status__in=STATUS_GROUPS[status][1])
    return orders


def includes_sandbox(*, include_sandbox: bool, provider: Provider | None) -> bool:
    """Whether a report counts sandbox orders: when asked, or when the sandbox provider is chosen."""
    return include_sandbox or (provider is not None and provider.is_sandbox)


def _is_month(start: date, end: date) -> bool:
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.day == 1 and end == following - timedelta(days=1)


# Memory for the one GROUP BY of a report: with PostgreSQL's default (4 MB) a month of a busy
# team's orders sorts on disk; this is for one query of one request, not the server's setting.
REPORT_WORK_MEM = "64MB"


def _grouped(rows: QuerySet) -> list[dict[str, Any]]:
    if connection.vendor != "postgresql":
        return list(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        return list(rows)


def report_build(
    *,
    start: date,
    end: date,
    group: str = "campaign",
    provider: Provider | None = None,
    campaign: Campaign | None = None,
    status: str = "",
    include_sandbox: bool = False,
    daily: bool = True,
) -> Report:
    """The report of the orders created from `start` to `end`, grouped by `group`, per currency.

    One GROUP BY query, by group, currency and (for the daily line: `daily`, periods up to
    MAX_CHART_DAYS) day, whose rows are added up here, and one query for the groups' names:
    their number does not depend on how many groups there are. A campaign's monthly budget and
    % used are shown for a calendar month, in the campaign's own currency.
    """
    grouping = GROUPINGS[group]
    orders = report_orders(
        start=start,
        end=end,
        provider=provider,
        campaign=campaign,
        status=status,
        include_sandbox=include_sandbox,
    )
    daily = daily and (end - start).days < MAX_CHART_DAYS
    if daily:
        orders = orders.annotate(day=TruncDate("created_at"))
    fields = (grouping.key, "currency", *(("day",) if daily else ()))
    month = _is_month(start, end)
    rows: dict[tuple[str, Any], ReportRow] = {}
    spent_on: dict[tuple[date, str], Decimal] = {}
    for values in _grouped(orders.values(*fields).annotate(**_aggregates())):
        part = ReportRow(
            key=values[grouping.key],
            label="",
            currency=values["currency"],
            orders=values["orders"],
            committed=_amount(values["committed"]),
            refunded=_amount(values["refunded"]),
            net=_amount(values["net"]),
            statuses={key: values[f"n_{key}"] for key in STATUS_GROUPS},
        )
        part.charged = part.net + part.refunded - part.committed
        rows.setdefault(
            (part.currency, part.key), ReportRow(key=part.key, label="", currency=part.currency)
        ).add(part)
        if daily:
            day = (values["day"], part.currency)
            spent_on[day] = spent_on.get(day, ZERO) + part.net
    names = grouping.names({key for _, key in rows if key not in (None, "")})
    for row in rows.values():
        row.label = grouping.title(row.key, names)
        named = names.get(row.key, {})
        if month and named.get("currency") == row.currency:
            row.budget = named.get("monthly_budget")
        row.is_sandbox = is_sandbox_url(named.get("api_url") or "")
    sections = []
    for currency in sorted({currency for currency, _ in rows}):
        # The catch-all row last; the others by spend, then name.
        ranked = sorted(
            (row for row in rows.values() if row.currency == currency),
            key=lambda row: (row.catch_all, -row.net, row.label.lower()),
        )
        total = ReportRow(key=None, label="Total", currency=currency, total=True)
        for row in ranked:
            total.add(row)
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)] if daily else []
        line = [(day, spent_on.get((day, currency), ZERO)) for day in days]
        sections.append(CurrencySection(currency=currency, rows=ranked, total=total, days=line))
    return Report(
        start=start,
        end=end,
        grouping=grouping,
        month=month,
        sections=sections,
        includes_sandbox=includes_sandbox(include_sandbox=include_sandbox, provider=provider),
    )
