"""The report's arithmetic and grouping, against `budget_spent`'s definition of spend."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from catalog.platforms import Platform
from orders.models import OrderStatus
from orders.services.spend import budget_spent
from providers.models import Provider
from reports.services import STATUS_GROUPS, report_build
from team.models import Campaign
from tests.factories import PlainServiceFactory, a_provider, person
from tests.reports.conftest import MONTH, an_order

MARCH_END = date(2026, 3, 31)


def march(**arguments):
    return report_build(start=MONTH, end=MARCH_END, **arguments)


def rows_by_label(report, currency: str = "USD"):
    (section,) = [section for section in report.sections if section.currency == currency]
    return {row.label: row for row in section.rows}


def every_kind_of_order(service, **extra):
    """One order of each way money moves (and the amounts `budget_spent` counts for them)."""
    an_order(service, OrderStatus.QUEUED, "10.00", **extra)  # 10.00 promised
    an_order(service, OrderStatus.AWAITING_APPROVAL, "5.00", **extra)  # 5.00 promised
    an_order(service, OrderStatus.UNCONFIRMED, "0.10", **extra)  # 0.10: the panel may have it
    an_order(service, OrderStatus.PENDING, "3.00", **extra)  # 3.00 promised
    an_order(service, OrderStatus.IN_PROGRESS, "2.00", charge="1.90", **extra)  # 1.90 charged
    an_order(service, OrderStatus.COMPLETED, "3.00", charge="2.50", **extra)  # 2.50
    an_order(service, OrderStatus.COMPLETED, "0.40", **extra)  # 0.40, charge not reported
    an_order(service, OrderStatus.PARTIAL, "2.00", charge="1.20", **extra)  # 1.20, 0.80 back
    # 2 of 3 delivered, no charge reported: 2/3 of 1.00 is 0.66667 (rounded half up).
    an_order(service, OrderStatus.PARTIAL, "1.00", quantity=3, remains=1, **extra)
    an_order(service, OrderStatus.PARTIAL, "4.00", remains=25, **extra)  # 3.00, 1.00 back
    an_order(service, OrderStatus.PARTIAL, "0.70", quantity=None, **extra)  # 0.70: nothing to share by
    an_order(service, OrderStatus.CANCELED, "7.00", charge="7.00", **extra)  # charged, refunded
    an_order(service, OrderStatus.CANCELED, "6.00", **extra)  # never charged
    an_order(service, OrderStatus.REJECTED, "9.00", **extra)
    an_order(service, OrderStatus.DECLINED, "8.00", **extra)


def test_net_spend_of_each_campaign_equals_budget_spent_for_that_campaign_and_month(service):
    spring = Campaign.objects.create(name="Spring", monthly_budget=Decimal("100"))
    summer = Campaign.objects.create(name="Summer")
    every_kind_of_order(service, campaign=spring)
    an_order(service, OrderStatus.PARTIAL, "9.99", quantity=7, remains=2, campaign=summer)
    an_order(service, OrderStatus.COMPLETED, "1.23", charge="1.11", campaign=summer)
    an_order(service, OrderStatus.COMPLETED, "50.00", campaign=spring, month=date(2026, 2, 1))
    rows = rows_by_label(march())
    for campaign in (spring, summer):
        assert rows[campaign.name].net == budget_spent(campaign=campaign, month=MONTH, currency="USD")
    assert rows["Spring"].net == Decimal("28.46667")
    assert rows["Spring"].orders == 15


def test_net_spend_per_person_and_per_provider_equals_budget_spent_too(provider, service):
    other_provider = a_provider("Beta")
    ann, bob = person("ann"), person("bob")
    every_kind_of_order(service, user=ann)
    every_kind_of_order(PlainServiceFactory(provider=other_provider), user=bob)
    an_order(service, OrderStatus.PARTIAL, "5.00", quantity=9, remains=4, user=bob)
    by_person, by_provider = rows_by_label(march(group="person")), rows_by_label(march(group="provider"))
    for user in (ann, bob):
        assert by_person[user.username].net == budget_spent(user=user, month=MONTH, currency="USD")
    for each in (provider, other_provider):
        assert by_provider[each.name].net == budget_spent(provider=each, month=MONTH, currency="USD")


@pytest.mark.parametrize(
    ("status", "estimate", "extra", "committed", "charged", "refunded", "net"),
    [
        (OrderStatus.QUEUED, "10.00", {}, "10.00", "0", "0", "10.00"),
        (OrderStatus.AWAITING_APPROVAL, "5.00", {}, "5.00", "0", "0", "5.00"),
        (OrderStatus.PENDING, "3.00", {}, "3.00", "0", "0", "3.00"),
        (OrderStatus.PENDING, "3.00", {"charge": "2.90"}, "0", "2.90", "0", "2.90"),
        (OrderStatus.COMPLETED, "3.00", {"charge": "2.50"}, "0", "2.50", "0", "2.50"),
        (OrderStatus.COMPLETED, "0.40", {}, "0", "0.40", "0", "0.40"),
        (OrderStatus.PARTIAL, "2.00", {"charge": "1.20"}, "0", "2.00", "0.80", "1.20"),
        (OrderStatus.PARTIAL, "4.00", {"remains": 25}, "0", "4.00", "1.00", "3.00"),
        (OrderStatus.PARTIAL, "1.00", {"charge": "1.30"}, "0", "1.30", "0", "1.30"),
        (OrderStatus.CANCELED, "7.00", {"charge": "7.00"}, "0", "7.00", "7.00", "0"),
        (OrderStatus.CANCELED, "7.00", {}, "0", "0", "0", "0"),
        (OrderStatus.REJECTED, "9.00", {}, "0", "0", "0", "0"),
        (OrderStatus.DECLINED, "8.00", {}, "0", "0", "0", "0"),
    ],
)
def test_each_kind_of_order_is_committed_charged_or_refunded_and_they_add_up_to_net(
    service, status, estimate, extra, committed, charged, refunded, net
):
    an_order(service, status, estimate, **extra)
    row = rows_by_label(march())["No campaign"]
    assert (row.committed, row.charged, row.refunded, row.net) == tuple(
        Decimal(amount) for amount in (committed, charged, refunded, net)
    )


def test_the_total_row_sums_the_groups_column_by_column(service):
    spring = Campaign.objects.create(name="Spring")
    every_kind_of_order(service, campaign=spring)
    every_kind_of_order(service)
    (section,) = march().sections
    assert section.total.net == sum(row.net for row in section.rows)
    # In progress with a charge, completed twice, four partial (each its estimate or a higher
    # charge), a canceled one charged: per set of orders.
    charged = ["1.90", "2.50", "0.40", "2.00", "1.00", "4.00", "0.70", "7.00"]
    assert section.total.charged == 2 * sum(Decimal(amount) for amount in charged)
    assert section.total.committed == 2 * (
        Decimal("10.00") + Decimal("5.00") + Decimal("0.10") + Decimal("3.00")
    )
    assert section.total.orders == 30
    refunds = [Decimal("0.80"), Decimal("0.33333"), Decimal("1.00"), Decimal("7.00")]  # 2 partial, cancel
    assert section.total.refunded == 2 * sum(refunds)


def test_currencies_are_reported_apart_and_never_added_together(service):
    spring = Campaign.objects.create(name="Spring", monthly_budget=Decimal("20"), currency="EUR")
    an_order(service, OrderStatus.COMPLETED, "10.00", campaign=spring)
    an_order(service, OrderStatus.COMPLETED, "4.00", campaign=spring, currency="EUR")
    an_order(service, OrderStatus.COMPLETED, "1.00", currency="EUR")
    report = march()
    assert [section.currency for section in report.sections] == ["EUR", "USD"]
    eur, usd = rows_by_label(report, "EUR"), rows_by_label(report, "USD")
    assert (eur["Spring"].net, eur["No campaign"].net, usd["Spring"].net) == (
        Decimal("4.00"),
        Decimal("1.00"),
        Decimal("10.00"),
    )
    assert report.sections[0].total.net == Decimal("5.00")
    # The budget is in euros: it says nothing about the dollars.
    assert (eur["Spring"].budget, eur["Spring"].used) == (Decimal("20"), Decimal("20"))
    assert usd["Spring"].budget is None and usd["Spring"].used is None


def test_budgets_and_their_use_are_shown_for_a_calendar_month_only(service):
    spring = Campaign.objects.create(name="Spring", monthly_budget=Decimal("30"))
    an_order(service, OrderStatus.COMPLETED, "10.00", campaign=spring)
    row = rows_by_label(march())["Spring"]
    assert row.used == Decimal("10") * 100 / Decimal("30")
    assert march().with_budgets
    week = report_build(start=date(2026, 3, 8), end=date(2026, 3, 14))
    assert not week.with_budgets and rows_by_label(week)["Spring"].budget is None


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("campaign", {"Spring": 2, "Summer": 1, "No campaign": 1}),
        ("person", {"ann": 3, "No person (account removed)": 1}),
        ("provider", {"Alpha": 3, "Beta": 1}),
        ("platform", {"Instagram": 2, "YouTube": 2}),
        ("category", {"Instagram Followers": 2, "YouTube Views": 1, "No category": 1}),
    ],
)
def test_orders_are_grouped_by_each_dimension(provider, group, expected):
    ann = person("ann")
    spring, summer = Campaign.objects.create(name="Spring"), Campaign.objects.create(name="Summer")
    followers = PlainServiceFactory(provider=provider)
    views = PlainServiceFactory(provider=provider, platform=Platform.YOUTUBE, category="YouTube Views")
    uncategorised = PlainServiceFactory(provider=a_provider("Beta"), platform=Platform.YOUTUBE, category="")
    an_order(followers, campaign=spring, user=ann)
    an_order(followers, campaign=spring, user=ann)
    an_order(views, campaign=summer, user=ann)
    an_order(uncategorised)
    rows = rows_by_label(march(group=group))
    assert {label: row.orders for label, row in rows.items()} == expected


def test_orders_without_a_campaign_are_one_row_listed_last(service):
    spring = Campaign.objects.create(name="Spring")
    an_order(service, OrderStatus.COMPLETED, "1.00")
    an_order(service, OrderStatus.COMPLETED, "2.00")
    an_order(service, OrderStatus.COMPLETED, "0.50", campaign=spring)
    (section,) = march().sections
    assert [row.label for row in section.rows] == ["Spring", "No campaign"]
    assert (section.rows[-1].orders, section.rows[-1].net) == (2, Decimal("3.00"))


def test_the_status_breakdown_puts_every_order_in_one_column(service):
    every_kind_of_order(service)
    row = rows_by_label(march())["No campaign"]
    assert row.statuses == {"completed": 6, "in_progress": 3, "failed": 4, "waiting": 1, "unconfirmed": 1}
    assert sum(row.statuses.values()) == row.orders
    assert set(STATUS_GROUPS) == set(row.statuses)


def test_only_orders_of_the_period_and_of_the_filters_count(service):
    other = PlainServiceFactory(provider=a_provider("Beta"))
    spring = Campaign.objects.create(name="Spring")
    an_order(service, OrderStatus.COMPLETED, "1.00", campaign=spring, day=1)
    an_order(service, OrderStatus.CANCELED, "2.00", campaign=spring, day=31)
    an_order(other, OrderStatus.COMPLETED, "4.00", day=15)
    an_order(service, OrderStatus.COMPLETED, "8.00", month=date(2026, 4, 1), day=1)
    assert march().sections[0].total.orders == 3
    assert march(provider=other.provider).sections[0].total.net == Decimal("4.00")
    assert march(campaign=spring).sections[0].total.orders == 2
    assert march(status="failed").sections[0].total.orders == 1
    week = report_build(start=date(2026, 3, 14), end=date(2026, 3, 31))
    assert week.sections[0].total.orders == 2
    assert report_build(start=date(2026, 5, 1), end=date(2026, 5, 31)).empty


def test_the_daily_line_adds_up_to_the_net_spend_of_the_period(service):
    an_order(service, OrderStatus.COMPLETED, "1.50", day=3)
    an_order(service, OrderStatus.PARTIAL, "2.00", quantity=3, remains=2, day=3)
    an_order(service, OrderStatus.COMPLETED, "4.00", day=30)
    (section,) = march().sections
    assert len(section.days) == 31
    assert section.days[0][0] == MONTH and section.days[-1][0] == MARCH_END
    amounts = dict(section.days)
    assert amounts[date(2026, 3, 3)] == Decimal("2.16667")
    assert amounts[date(2026, 3, 30)] == Decimal("4.00")
    assert sum(amounts.values()) == section.total.net
    assert amounts[MONTH + timedelta(days=1)] == 0


def test_sandbox_orders_are_left_out_unless_asked_for_or_their_provider_is_chosen(provider, service):
    sandbox = Provider.objects.get(name="Sandbox")
    an_order(service, OrderStatus.COMPLETED, "2.00", charge="2.00")
    an_order(PlainServiceFactory(provider=sandbox), OrderStatus.COMPLETED, "30.00", charge="30.00")

    real_only = march(group="provider")
    assert (set(rows_by_label(real_only)), real_only.includes_sandbox) == ({"Alpha"}, False)
    assert real_only.sections[0].total.net == Decimal("2.00")

    asked = march(group="provider", include_sandbox=True)
    rows = rows_by_label(asked)
    assert asked.includes_sandbox and asked.sections[0].total.net == Decimal("32.00")
    assert (rows["Sandbox"].is_sandbox, rows["Alpha"].is_sandbox) == (True, False)

    chosen = march(group="provider", provider=sandbox)
    assert chosen.includes_sandbox and set(rows_by_label(chosen)) == {"Sandbox"}
