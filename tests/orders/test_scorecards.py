"""Scorecards: each service's and provider's record from our own orders, over 30 and 90 days."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scorecard, Service
from orders.models import Order, OrderStatus, Refill, RefillStatus
from orders.services.scorecards import scorecards_refresh
from orders.tasks import refresh_scorecards
from tests.factories import PlainServiceFactory, a_provider

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def orders(
    service: Service, count: int, status: str = OrderStatus.COMPLETED, *, days_ago: float = 1, **fields
):
    """`count` orders of `service` placed `days_ago`, accepted at once; `start`/`finish`: seconds after."""
    start, finish = fields.pop("start", None), fields.pop("finish", None)
    placed = NOW - timedelta(days=days_ago)
    made = [
        Order(
            provider=service.provider,
            service=service,
            link=f"https://instagram.com/p/{service.pk}-{status}-{days_ago}-{n}",
            quantity=fields.get("quantity", 100),
            estimated_charge=Decimal("0.10"),
            status=status,
            created_at=placed,
            submitted_at=placed if status not in (OrderStatus.REJECTED, OrderStatus.QUEUED) else None,
            started_at=None if start is None else placed + timedelta(seconds=start[n % len(start)]),
            finished_at=None if finish is None else placed + timedelta(seconds=finish),
            submission_token=f"{service.pk}-{status}-{days_ago}-{n}-{fields.get('remains')}",
            remains=fields.get("remains"),
        )
        for n in range(count)
    ]
    return Order.objects.bulk_create(made)


@pytest.fixture
def service(db) -> Service:
    return PlainServiceFactory(provider=a_provider("Alpha"))


def card(service: Service, days: int) -> Scorecard:
    return Scorecard.objects.get(service=service, days=days)


def test_a_services_card_counts_outcomes_of_sent_orders_and_rates_them_among_the_settled(service):
    orders(service, 8)
    orders(service, 2, OrderStatus.PARTIAL, remains=40)
    orders(service, 1, OrderStatus.CANCELED)
    orders(service, 1, OrderStatus.REJECTED)
    orders(service, 1, OrderStatus.UNCONFIRMED)
    orders(service, 3, OrderStatus.IN_PROGRESS)
    orders(service, 5, OrderStatus.QUEUED)  # never sent: says nothing of the service
    orders(service, 4, OrderStatus.AWAITING_APPROVAL)

    scorecards_refresh()

    month = card(service, 30)
    assert (month.orders, month.settled, month.open) == (16, 13, 3)
    assert (month.completed, month.partial, month.canceled, month.rejected, month.unconfirmed) == (
        8,
        2,
        1,
        1,
        1,
    )
    assert dict(month.rates) == {
        "Completed": Decimal(8) / 13,
        "Partial": Decimal(2) / 13,
        "Canceled": Decimal(1) / 13,
        "Rejected": Decimal(1) / 13,
        "Unconfirmed": Decimal(1) / 13,
    }
    assert isinstance(month.reliability, Decimal)


def test_an_order_canceled_while_it_waited_for_its_link_says_nothing_of_the_service(service):
    orders(service, 3)
    orders(service, 2, OrderStatus.CANCELED)
    waited = orders(service, 4, OrderStatus.CANCELED, days_ago=2)
    Order.objects.filter(pk__in=[order.pk for order in waited]).update(submitted_at=None)

    scorecards_refresh(now=NOW)

    assert (card(service, 30).orders, card(service, 30).canceled) == (5, 2)


def test_the_delivered_share_counts_what_remains_and_a_canceled_order_delivered_nothing(service):
    orders(service, 8)  # 800 delivered (remains unknown: completed)
    orders(service, 1, remains=-30)  # over-delivered: counts as the quantity, not more
    orders(service, 1, OrderStatus.PARTIAL, remains=40)  # 60 of 100
    orders(service, 1, OrderStatus.CANCELED)  # 0 of 100
    orders(service, 1, OrderStatus.REJECTED)  # never accepted: not in the delivered share

    scorecards_refresh()

    month = card(service, 30)
    assert (month.delivered_orders, month.quantity_ordered, month.quantity_delivered) == (11, 1100, 960)
    assert month.delivered_share == Decimal(960) / Decimal(1100)


def test_times_to_start_and_finish_are_the_median_and_90th_percentile_from_acceptance(service):
    orders(service, 10, start=[60 * n for n in range(1, 11)], finish=3600)

    scorecards_refresh()

    month = card(service, 30)
    assert (month.starts, month.start_median, month.start_p90) == (10, 330, 546)  # 5.5 and 9.1 min
    assert (month.finishes, month.finish_median, month.finish_p90) == (10, 3600, 3600)
    assert month.start_judged and month.finish_judged


def test_the_30_day_card_leaves_out_older_orders_that_the_90_day_card_keeps_and_older_still_are_gone(service):
    orders(service, 10, days_ago=5)
    orders(service, 10, OrderStatus.PARTIAL, remains=50, days_ago=45)
    orders(service, 10, OrderStatus.REJECTED, days_ago=120)

    scorecards_refresh()

    assert (card(service, 30).orders, card(service, 30).partial) == (10, 0)
    assert (card(service, 90).orders, card(service, 90).partial, card(service, 90).rejected) == (20, 10, 0)


def test_a_provider_card_adds_up_all_its_services_and_only_its_own(service):
    other_service = PlainServiceFactory(provider=service.provider)
    elsewhere = PlainServiceFactory(provider=a_provider("Beta"))
    orders(service, 6)
    orders(other_service, 6, OrderStatus.CANCELED)
    orders(elsewhere, 20, OrderStatus.REJECTED)

    scorecards_refresh()

    alpha = Scorecard.objects.get(provider=service.provider, service=None, days=30)
    assert (alpha.orders, alpha.completed, alpha.canceled, alpha.rejected) == (12, 6, 6, 0)
    assert alpha.reliability == Decimal("0.5")
    assert Scorecard.windows_of(provider=elsewhere.provider)[0].rejected == 20


def test_refill_success_is_the_share_completed_of_the_refills_the_panel_finished(service):
    done = orders(service, 14)
    statuses = (
        [RefillStatus.COMPLETED] * 9
        + [RefillStatus.REJECTED] * 3
        + [RefillStatus.PENDING, RefillStatus.FAILED]
    )
    for order, status in zip(done, statuses, strict=True):
        Refill.objects.create(order=order, status=status, requested_at=NOW - timedelta(days=2))

    scorecards_refresh()

    month = card(service, 30)
    assert (month.refills_finished, month.refills_completed) == (12, 9)
    assert month.refill_success == Decimal("0.75")


def test_fewer_than_10_settled_orders_give_no_rate_at_all(service):
    orders(service, 9)
    orders(service, 5, OrderStatus.IN_PROGRESS, start=[60])

    scorecards_refresh()

    month = card(service, 30)
    assert not month.judged
    assert month.reliability is None and month.delivered_share is None and month.refill_success is None
    assert all(share is None for _, share in month.rates)
    assert not month.start_judged
    assert Service.objects.get(pk=service.pk).reliability is None


def test_a_service_without_orders_shows_empty_cards_for_both_windows(service):
    cards = Scorecard.windows_of(service=service)

    assert [(c.days, c.orders, c.judged, c.pk) for c in cards] == [(30, 0, False, None), (90, 0, False, None)]


def test_the_catalog_reliability_is_the_30_day_completed_share_rounded_down_and_cleared_when_stale(
    service,
):
    orders(service, 19_999)
    orders(service, 1, OrderStatus.PARTIAL, remains=1)  # 99.995% completed
    scorecards_refresh()
    assert Service.objects.get(pk=service.pk).reliability == Decimal("0.9999")  # never "1.0000"

    Order.objects.filter(service=service).update(created_at=NOW - timedelta(days=40))
    scorecards_refresh()

    assert Service.objects.get(pk=service.pk).reliability is None
    assert card(service, 90).orders == 20_000


def test_a_refresh_with_nothing_changed_writes_no_service_row(service):
    orders(service, 12)
    scorecards_refresh()

    with CaptureQueriesContext(connection) as queries:
        report = scorecards_refresh()

    assert report.reliability_changed == 0
    assert not [q for q in queries if "UPDATE" in q["sql"] and "catalog_service" in q["sql"]]


def test_the_scheduler_refreshes_the_scorecards_and_the_task_does_it(service):
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-scorecards"]
    assert entry["task"] == "orders.tasks.refresh_scorecards"
    assert entry["options"]["expires"] < entry["schedule"] == settings.SCORECARDS_REFRESH_MINUTES * 60
    orders(service, 10)

    refresh_scorecards.apply()

    assert card(service, 30).completed == 10
