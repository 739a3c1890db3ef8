"""Refill guarantees: each completed or partial order's window, and the orders due a refill.

An order's window opens when it turns completed or partial (`finished_at`, set by polling) and
lasts its service's refill period (`Service.refill_period`): `Order.refill_until`. The panel
takes a refill from a day after completion (`Order.refill_from`), one at a time per order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Service
from orders.models import REFILL_COOLDOWN, Order, OrderStatus, Refill, RefillStatus

REFILLABLE_STATUSES = (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
# "Due": no refill asked in this many days (the page's default; `?days=` changes it).
DUE_AFTER_DAYS = 7
MAX_DUE_AFTER_DAYS = 365
DAY_MICROSECONDS = 86_400_000_000
# Orders whose windows are set per UPDATE.
WINDOW_BATCH = 1000


def _open_windows(rows: Iterable[tuple[int, int]]) -> int:
    """Set `refill_until` = completion + days for (order id, days) rows; 0 days: no window."""
    by_days: dict[int, list[int]] = defaultdict(list)
    for pk, days in rows:
        by_days[days].append(pk)
    changed = 0
    for days, ids in by_days.items():
        until = F("finished_at") + timedelta(days=days) if days else None
        for start in range(0, len(ids), WINDOW_BATCH):
            changed += Order.objects.filter(pk__in=ids[start : start + WINDOW_BATCH]).update(
                refill_until=until
            )
    return changed


def _periods(orders: QuerySet[Order]) -> Iterable[tuple[int, int]]:
    for pk, days, override in orders.values_list(
        "pk", "service__refill_days", "service__refill_days_override"
    ).iterator(chunk_size=WINDOW_BATCH):
        yield pk, days if override is None else override


def refill_windows_open(*, order_ids: Iterable[int]) -> int:
    """Open the refill window of those of `order_ids` that just turned completed or partial.

    Called by polling where orders turn final: one UPDATE, the period read by a subquery, so a
    polling batch pays one statement more; orders already given a window keep it.
    """
    ids = list(order_ids)
    if not ids:
        return 0
    services = Service.objects.filter(pk=OuterRef("service_id"))
    period = Subquery(services.values(days=Coalesce("refill_days_override", "refill_days"))[:1])
    refillable = Q(refill_days_override__gt=0) | Q(refill_days_override__isnull=True, refill_days__gt=0)
    # PostgreSQL multiplies an interval; SQLite keeps a duration as microseconds.
    day = timedelta(days=1) if connection.vendor == "postgresql" else Value(DAY_MICROSECONDS)
    length = ExpressionWrapper(period * day, output_field=DurationField())
    until = ExpressionWrapper(F("finished_at") + length, output_field=DateTimeField())
    return (
        Order.objects.filter(
            pk__in=ids, status__in=REFILLABLE_STATUSES, finished_at__isnull=False, refill_until__isnull=True
        )
        .filter(Exists(services.filter(refillable)))
        .update(refill_until=until)
    )


def refill_windows_reset(*, service_id: int) -> int:
    """Recompute the windows of every completed or partial order of a service whose refill
    period a manager corrected."""
    orders = Order.objects.filter(
        service_id=service_id, status__in=REFILLABLE_STATUSES, finished_at__isnull=False
    )
    return _open_windows(_periods(orders))


def refill_windows_follow(sender: object, *, service: Service, **kwargs: object) -> None:
    """Receiver of `catalog.signals.refill_period_corrected`."""
    refill_windows_reset(service_id=service.pk)


def _pending() -> Exists:
    # A refill not finished (pending, in progress, or its outcome unknown) blocks a second one.
    return Exists(Refill.objects.filter(order=OuterRef("pk"), finished_at__isnull=True))


def refill_blocked_ids(order_ids: Iterable[int]) -> set[int]:
    """Those of `order_ids` with a refill still pending (or of unknown outcome)."""
    return set(
        Refill.objects.filter(order_id__in=list(order_ids), finished_at__isnull=True).values_list(
            "order_id", flat=True
        )
    )


def refills_due(
    *,
    now: datetime | None = None,
    days: int = DUE_AFTER_DAYS,
    campaign_id: int | None = None,
    provider_id: int | None = None,
    platform: str | None = None,
) -> QuerySet[Order]:
    """Orders inside their refill window with no refill pending and none asked in the last
    `days` days (a call that failed before reaching the panel does not count), each annotated
    with its last refill's time and status."""
    now = now or timezone.now()
    asked = Refill.objects.filter(order=OuterRef("pk")).exclude(status=RefillStatus.FAILED)
    last = Refill.objects.filter(order=OuterRef("pk")).order_by("-requested_at", "-id")
    due = (
        Order.objects.filter(
            refill_until__gt=now, status__in=REFILLABLE_STATUSES, provider_order_id__isnull=False
        )
        .exclude(_pending())
        .exclude(Exists(asked.filter(requested_at__gte=now - timedelta(days=days))))
    )
    filters = Q()
    if campaign_id is not None:
        filters &= Q(campaign_id=campaign_id)
    if provider_id is not None:
        filters &= Q(provider_id=provider_id)
    if platform:
        filters &= Q(service__platform=platform)
    return (
        due.filter(filters)
        .select_related("service", "provider", "campaign")
        .defer("service__raw", "extra")
        .annotate(
            last_refill_at=Subquery(last.values("requested_at")[:1]),
            last_refill_status=Subquery(last.values("status")[:1]),
            last_refill_error=Subquery(last.values("error")[:1]),
        )
    )


def refill_askable(order: Order, now: datetime | None = None) -> bool:
    """Whether the panel would take a refill of `order` now, as far as we know (window, a day
    after completion); a pending refill is checked by the caller, for all orders at once."""
    now = now or timezone.now()
    return (
        order.can_refill()
        and order.in_refill_window(now)
        and order.finished_at is not None
        and order.finished_at + REFILL_COOLDOWN <= now
    )


def refill_outcomes_summary(selected: int, refills: Iterable[Refill]) -> str:
    """What a bulk request did, for the person who asked: "2 refills requested; 1 refused by the
    panel (Refill is disabled for this service); 1 of the 4 selected not asked (…)"."""
    refills = list(refills)
    requested = sum(1 for refill in refills if refill.provider_refill_id is not None)
    parts = [f"{requested} refill{'' if requested == 1 else 's'} requested"]
    for status in (RefillStatus.REFUSED, RefillStatus.UNCONFIRMED, RefillStatus.FAILED):
        these = [refill for refill in refills if refill.status == status]
        if these:
            reasons = "; ".join(sorted({refill.error for refill in these if refill.error}))
            parts.append(f"{len(these)} {status.label.lower()}" + (f" ({reasons})" if reasons else ""))
    skipped = selected - len(refills)
    if skipped:
        parts.append(
            f"{skipped} of the {selected} selected not asked (a refill pending, outside the window, "
            "or less than a day after completion)"
        )
    return "; ".join(parts) + "."
