"""Scorecards: what our own orders say of each service and each provider over 30 and 90 days.

One aggregate query per scope (services, providers) reads the orders of the last 90 days once,
each figure filtered to its window, and one more per scope reads the refills. The cards are
replaced as a whole in one transaction (readers see the old set or the new), then each service's
reliability, the catalog's sort key, is written where it changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from catalog.models import Scorecard, Service
from jappanel.db import Percentile, Seconds, bulk_insert, bulk_set
from orders.models import (
    DELIVERED_STATUSES,
    DELIVERY_OVER_STATUSES,
    SENT_STATUSES,
    Order,
    OrderStatus,
    Refill,
    RefillStatus,
)

logger = logging.getLogger(__name__)

OUTCOMES = ("completed", "partial", "canceled", "rejected", "unconfirmed")
RELIABILITY_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class ScorecardReport:
    services: int
    providers: int
    reliability_changed: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _delivered() -> Any:
    """Units delivered by an order whose delivery is over: its quantity less what remains.

    A completed order without `remains` delivered everything, any other nothing; what remains is
    kept between 0 and the quantity (panels report over-delivery as negative remains).
    """
    units = BigIntegerField()
    remains = Coalesce(
        "remains",
        Case(When(status=OrderStatus.COMPLETED, then=Value(0)), default=F("quantity"), output_field=units),
    )
    return F("quantity") - Least(Greatest(remains, Value(0), output_field=units), F("quantity"))


def _order_figures(now: datetime) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    start = Seconds(F("started_at"), F("submitted_at"))
    finish = Seconds(F("finished_at"), F("submitted_at"))
    started = Q(started_at__isnull=False, submitted_at__isnull=False)
    finished = Q(
        status__in=DELIVERED_STATUSES,
        finished_at__isnull=False,
        submitted_at__isnull=False,
    )
    over = Q(status__in=DELIVERY_OVER_STATUSES, quantity__gt=0)
    for days in Scorecard.WINDOWS:
        inside = Q(created_at__gte=now - timedelta(days=days))
        figures[f"orders_{days}"] = Count("pk", filter=inside)
        for outcome in OUTCOMES:
            figures[f"{outcome}_{days}"] = Count("pk", filter=inside & Q(status=outcome))
        figures[f"delivered_orders_{days}"] = Count("pk", filter=inside & over)
        figures[f"quantity_ordered_{days}"] = Sum("quantity", filter=inside & over)
        figures[f"quantity_delivered_{days}"] = Sum(_delivered(), filter=inside & over)
        figures[f"starts_{days}"] = Count("pk", filter=inside & started)
        figures[f"start_median_{days}"] = Percentile(start, 0.5, filter=inside & started)
        figures[f"start_p90_{days}"] = Percentile(start, 0.9, filter=inside & started)
        figures[f"finishes_{days}"] = Count("pk", filter=inside & finished)
        figures[f"finish_median_{days}"] = Percentile(finish, 0.5, filter=inside & finished)
        figures[f"finish_p90_{days}"] = Percentile(finish, 0.9, filter=inside & finished)
    return figures


def _refill_figures(now: datetime) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    # The panel's verdict on the refills it took; a request it refused never became a refill job.
    finished = Q(status__in=(RefillStatus.COMPLETED, RefillStatus.REJECTED))
    for days in Scorecard.WINDOWS:
        inside = Q(requested_at__gte=now - timedelta(days=days))
        figures[f"refills_finished_{days}"] = Count("pk", filter=inside & finished)
        figures[f"refills_completed_{days}"] = Count("pk", filter=inside & Q(status=RefillStatus.COMPLETED))
    return figures


def _whole(value: Any) -> int:
    return 0 if value is None else int(value)


def _seconds(value: float | None) -> int | None:
    return None if value is None else max(0, round(value))


def _cards(
    rows: Iterable[dict[str, Any]], refills: dict[tuple[Any, ...], dict[str, Any]], keys: tuple[str, str]
) -> list[Scorecard]:
    """One card per window of each aggregated row; `keys` name its provider and service columns."""
    provider_key, service_key = keys
    now = timezone.now()
    cards = []
    for row in rows:
        provider_id, service_id = row[provider_key], row.get(service_key)
        refill = refills.get((provider_id, service_id), {})
        for days in Scorecard.WINDOWS:
            if not row[f"orders_{days}"]:
                continue
            cards.append(
                Scorecard(
                    provider_id=provider_id,
                    service_id=service_id,
                    days=days,
                    computed_at=now,
                    orders=row[f"orders_{days}"],
                    **{outcome: row[f"{outcome}_{days}"] for outcome in OUTCOMES},
                    delivered_orders=row[f"delivered_orders_{days}"],
                    quantity_ordered=_whole(row[f"quantity_ordered_{days}"]),
                    quantity_delivered=_whole(row[f"quantity_delivered_{days}"]),
                    starts=row[f"starts_{days}"],
                    start_median=_seconds(row[f"start_median_{days}"]),
                    start_p90=_seconds(row[f"start_p90_{days}"]),
                    finishes=row[f"finishes_{days}"],
                    finish_median=_seconds(row[f"finish_median_{days}"]),
                    finish_p90=_seconds(row[f"finish_p90_{days}"]),
                    refills_finished=refill.get(f"refills_finished_{days}", 0),
                    refills_completed=refill.get(f"refills_completed_{days}", 0),
                )
            )
    return cards


def _grouped(queryset: QuerySet[Any], columns: list[str], figures: dict[str, Any]) -> list[dict[str, Any]]:
    return list(queryset.values(*columns).annotate(**figures).order_by())


def scorecards_refresh(*, now: datetime | None = None) -> ScorecardReport:
    """Recompute every scorecard from the orders and refills of the last 90 days."""
    started = time.perf_counter()
    now = now or timezone.now()
    since = now - timedelta(days=max(Scorecard.WINDOWS))
    # An order canceled while it waited for its link never reached the panel: it says nothing.
    orders = Order.objects.filter(created_at__gte=since, status__in=SENT_STATUSES).exclude(
        status=OrderStatus.CANCELED, submitted_at__isnull=True
    )
    refills = Refill.objects.filter(requested_at__gte=since)
    order_figures, refill_figures = _order_figures(now), _refill_figures(now)
    by_service = _grouped(orders, ["provider_id", "service_id"], order_figures)
    by_provider = _grouped(orders, ["provider_id"], order_figures)
    refills_by_service = {
        (row["order__provider_id"], row["order__service_id"]): row
        for row in _grouped(refills, ["order__provider_id", "order__service_id"], refill_figures)
    }
    refills_by_provider = {
        (row["order__provider_id"], None): row
        for row in _grouped(refills, ["order__provider_id"], refill_figures)
    }
    cards = _cards(by_service, refills_by_service, ("provider_id", "service_id"))
    cards += _cards(by_provider, refills_by_provider, ("provider_id", "service_id"))
    with transaction.atomic():
        Scorecard.objects.all().delete()
        bulk_insert(Scorecard, [_row(card) for card in cards])
        changed = _reliability_write(cards)
    report = ScorecardReport(
        services=len(by_service),
        providers=len(by_provider),
        reliability_changed=changed,
        seconds=round(time.perf_counter() - started, 3),
    )
    logger.info("scorecards refreshed: %s", report.as_dict())
    return report


def _row(card: Scorecard) -> dict[str, Any]:
    return {
        field.attname: getattr(card, field.attname)
        for field in Scorecard._meta.concrete_fields
        if not field.primary_key
    }


def _reliability_write(cards: list[Scorecard]) -> int:
    """Write each service's 30-day reliability where it changed; return how many changed."""
    wanted: dict[int, Decimal] = {}
    for card in cards:
        share = card.reliability if card.days == Scorecard.RELIABILITY_DAYS else None
        if card.service_id is not None and share is not None:
            # Rounded down: 99.99% must not read as "every order completed".
            wanted[card.service_id] = share.quantize(RELIABILITY_PLACES, rounding=ROUND_DOWN)
    stored = dict(Service.objects.filter(reliability__isnull=False).values_list("pk", "reliability"))
    changes: dict[int, Decimal | None] = {pk: None for pk in stored if pk not in wanted}
    changes.update({pk: value for pk, value in wanted.items() if stored.get(pk) != value})
    bulk_set(Service, "reliability", changes)
    return len(changes)
