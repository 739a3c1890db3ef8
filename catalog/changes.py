"""What changed in the catalog: the events a sync records, the Catalog changes page's query, the
dashboard's digest, and the price jumps of shortlisted services.

Changes that touch what the team relies on come first: its shortlist, and what apps above the
catalog register (presets register their lines) with `services_in_use_register`, so that the
catalog can tell without knowing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.models import (
    CatalogChange,
    CatalogChangesVisit,
    ChangeKind,
    Service,
    ServicePriceChange,
    ShortlistEntry,
)
from jappanel.db import bulk_insert
from jappanel.events import Occurrence, announce
from jappanel.web.filters import ListFilterSet
from jappanel.web.pagination import EPOCH

PERCENT_PLACES = Decimal("0.1")
FLAGS = {"refill": ChangeKind.REFILL, "cancel": ChangeKind.CANCEL, "dripfeed": ChangeKind.DRIPFEED}
LIMITS = {"min_quantity": ChangeKind.MIN, "max_quantity": ChangeKind.MAX}
# The windows of the page's "since" filter, in days; "visit" is since the person's last visit.
PERIODS = {"visit": "Since my last visit", "7": "Last 7 days", "30": "Last 30 days"}
DEFAULT_PERIOD = "7"
# A first visit has no "last visit": it shows this many days.
FIRST_VISIT_DAYS = 30
DIGEST_ROWS = 6
PRICE_JUMP_DAYS = 7


# Services in use -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InUse:
    """Services an app above the catalog relies on: `rows()` is a queryset of a model with a
    `service` foreign key (e.g. the lines of active presets); `label` is what a change touching
    one of them is marked with."""

    key: str
    label: str
    rows: Callable[[], QuerySet[Any]]


SERVICES_IN_USE: dict[str, InUse] = {}


def services_in_use_register(*, key: str, label: str, rows: Callable[[], QuerySet[Any]]) -> None:
    """Called by an app's `ready()`: changes to these services are highlighted and come first."""
    SERVICES_IN_USE[key] = InUse(key=key, label=label, rows=rows)


def _touching(service_field: str) -> Q:
    """Rows whose `service_field` is shortlisted or in use by a registered app."""
    condition = Q(**{f"{service_field}__in": ShortlistEntry.objects.values("service_id")})
    for use in SERVICES_IN_USE.values():
        condition |= Q(**{f"{service_field}__in": use.rows().values("service_id")})
    return condition


def with_impact(changes: QuerySet[CatalogChange]) -> QuerySet[CatalogChange]:
    """`changes` with `house_name` (the shortlist's name, if any) and `in_<key>` per registered use."""
    uses = {
        f"in_{use.key}": Exists(use.rows().filter(service=OuterRef("service_id")))
        for use in SERVICES_IN_USE.values()
    }
    house_name = ShortlistEntry.objects.filter(service=OuterRef("service_id")).values("house_name")[:1]
    return changes.annotate(house_name=Subquery(house_name), **uses)


def impact_labels(change: CatalogChange) -> list[str]:
    """What a change annotated by `with_impact` touches: "Shortlisted as …", "In a preset"."""
    labels = [f"Shortlisted as “{change.house_name}”"] if getattr(change, "house_name", None) else []
    return labels + [use.label for use in SERVICES_IN_USE.values() if getattr(change, f"in_{use.key}", False)]


# Recording ---------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _percent(old: Decimal, new: Decimal) -> Decimal | None:
    if not old:
        return None
    return ((new - old) * 100 / old).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of one stored row (`old`, as read by the sync) against its new values."""
    events: list[dict[str, Any]] = []

    def event(kind: str, before: object = "", after: object = "", percent: Decimal | None = None) -> None:
        events.append(
            {"kind": kind, "old_value": _text(before), "new_value": _text(after), "percent": percent}
        )

    if not old["active"]:
        event(ChangeKind.REACTIVATED)
    if old["name"] != new["name"]:
        event(ChangeKind.RENAMED, old["name"], new["name"])
    if old["rate"] != new["rate"]:
        kind = ChangeKind.RATE_UP if new["rate"] > old["rate"] else ChangeKind.RATE_DOWN
        event(kind, old["rate"], new["rate"], _percent(old["rate"], new["rate"]))
    for field, kind in (*LIMITS.items(), *FLAGS.items()):
        if old[field] != new[field]:
            event(kind, old[field], new[field])
    return events


def _whole(service_pk: int, kind: str, name: str = "") -> dict[str, Any]:
    """The event of a whole service coming or going."""
    return {"service_id": service_pk, "kind": kind, "old_value": "", "new_value": name, "percent": None}


def catalog_changes_record(
    *,
    provider_id: int,
    existing: Mapping[int, Mapping[str, Any]],
    written: list[dict[str, Any]],
    missing: list[int],
    now: datetime,
) -> int:
    """Record what one sync changed, from the rows it compared in memory; return how many events.

    `existing` maps a provider's service id to its stored row (as the sync read it), `written`
    holds the rows the sync wrote (new and changed), `missing` the service ids it deactivated.
    No query per row: one to find the ids of the services the sync just inserted (those first
    seen `now`), one bulk insert. A provider's first sync records nothing.
    """
    if not existing:
        return 0
    rows: list[dict[str, Any]] = []
    new_ids: dict[int, str] = {}
    for values in written:
        old = existing.get(values["service_id"])
        if old is None:
            new_ids[values["service_id"]] = values["name"]
            continue
        rows += [{"service_id": old["id"], **event} for event in _differences(old, values)]
    if new_ids:
        inserted = Service.objects.filter(provider_id=provider_id, first_seen_at=now).values_list(
            "service_id", "pk"
        )
        rows += [_whole(pk, ChangeKind.NEW, new_ids[sid]) for sid, pk in inserted if sid in new_ids]
    rows += [_whole(existing[sid]["id"], ChangeKind.REMOVED) for sid in missing]
    bulk_insert(CatalogChange, [{"provider_id": provider_id, "at": now, **row} for row in rows])
    announce(
        [
            Occurrence(
                "catalog.changed",
                f"changes:{provider_id}:{now.isoformat()}",
                {"provider_id": provider_id, "at": now.isoformat()},
            )
        ]
        if rows
        else []
    )
    return len(rows)


# The page ----------------------------------------------------------------------------------------


def last_visit(user: AbstractBaseUser) -> datetime | None:
    visit = CatalogChangesVisit.objects.filter(user_id=user.pk).first()
    return visit.visited_at if visit else None


def catalog_changes_visit(*, user: AbstractBaseUser, now: datetime | None = None) -> datetime | None:
    """Record that `user` opens the Catalog changes page now; return their previous visit."""
    now = now or timezone.now()
    visit = CatalogChangesVisit.objects.filter(user_id=user.pk).first()
    if visit is None:
        CatalogChangesVisit.objects.create(user_id=user.pk, visited_at=now)
        return None
    CatalogChangesVisit.objects.filter(pk=visit.pk).update(visited_at=now)
    return visit.visited_at


def seen_param(moment: datetime | None) -> str:
    """A moment as the page's `seen` parameter (microseconds since 1970), "" for none."""
    return "" if moment is None else str((moment - EPOCH) // timedelta(microseconds=1))


def seen_from(value: str | None) -> datetime | None:
    """The moment of a `seen` parameter; None for a missing or malformed one."""
    value = value or ""
    if not value.isdigit() or len(value) > 16:
        return None
    return EPOCH + timedelta(microseconds=int(value))


class ChangeFilter(ListFilterSet):
    """The filters of the Catalog changes page, read from its query string.

    `seen` is the person's previous visit, carried in the URL so that "since my last visit"
    stays the same list through filter changes, pages and reloads.
    """

    since = django_filters.ChoiceFilter(choices=list(PERIODS.items()), method="within", label="Period")
    provider = django_filters.NumberFilter(field_name="provider_id", label="Provider")
    kind = django_filters.ChoiceFilter(choices=ChangeKind.choices, label="Kind of change")
    shortlist = django_filters.BooleanFilter(method="only_shortlist", label="Only the shortlist")

    # The period is not a narrowing: every visit has one.
    FILTERS = ("provider", "kind", "shortlist")

    class Meta:
        model = CatalogChange
        fields: list[str] = []

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        data = dict(data.items()) if data is not None else {}
        # Always a period: a missing or unknown one would otherwise leave the list unbounded.
        if data.get("since") not in PERIODS:
            data["since"] = DEFAULT_PERIOD
        self.seen = seen_from(data.get("seen"))
        kwargs.setdefault(
            "queryset",
            with_impact(CatalogChange.objects.select_related("service", "provider").defer("service__raw")),
        )
        super().__init__(data, **kwargs)

    @property
    def start(self) -> datetime:
        """The earliest moment the period covers."""
        self.is_valid()
        period = self.form.cleaned_data.get("since") or DEFAULT_PERIOD
        if period == "visit":
            return self.seen or timezone.now() - timedelta(days=FIRST_VISIT_DAYS)
        return timezone.now() - timedelta(days=int(period))

    def within(self, queryset: QuerySet[CatalogChange], name: str, value: str) -> QuerySet[CatalogChange]:
        return queryset.filter(at__gt=self.start)

    def only_shortlist(
        self, queryset: QuerySet[CatalogChange], name: str, value: bool
    ) -> QuerySet[CatalogChange]:
        return queryset.filter(service__in=ShortlistEntry.objects.values("service_id")) if value else queryset


def touching(changes: QuerySet[CatalogChange]) -> QuerySet[CatalogChange]:
    """Those of `changes` that touch a shortlisted service or a service in use (presets)."""
    return changes.filter(_touching("service_id"))


# The dashboard -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceJump:
    """A shortlisted service whose rate rose more than PRICE_JUMP_ALERT_PERCENT in PRICE_JUMP_DAYS."""

    entry: ShortlistEntry
    old_rate: Decimal
    percent: Decimal


def price_jumps(*, now: datetime | None = None) -> list[PriceJump]:
    """Shortlisted services whose rate is now more than PRICE_JUMP_ALERT_PERCENT above what it
    was PRICE_JUMP_DAYS ago (several small rises add up), largest first."""
    since = (now or timezone.now()) - timedelta(days=PRICE_JUMP_DAYS)
    rate_then = (
        ServicePriceChange.objects.filter(service=OuterRef("service_id"), changed_at__gte=since)
        .order_by("changed_at", "pk")
        .values("old_rate")[:1]
    )
    entries = (
        ShortlistEntry.objects.select_related("service__provider")
        .defer("service__raw")
        .annotate(rate_then=Subquery(rate_then))
        .filter(rate_then__isnull=False)
    )
    threshold = settings.PRICE_JUMP_ALERT_PERCENT
    jumps = []
    for entry in entries:
        percent = _percent(entry.rate_then, entry.service.rate)
        if percent is not None and percent > threshold:
            jumps.append(PriceJump(entry=entry, old_rate=entry.rate_then, percent=percent))
    return sorted(jumps, key=lambda jump: -jump.percent)


@dataclass(frozen=True)
class ChangesDigest:
    """The dashboard's card: how much changed since the person's last visit to the changes page,
    the newest changes touching what the team relies on, and the price jumps."""

    since: datetime | None
    count: int
    touching_count: int
    touching: list[CatalogChange]
    jumps: list[PriceJump]


def changes_digest(*, user: AbstractBaseUser) -> ChangesDigest:
    """Three queries (the visit, the counts, the price jumps), a fourth for the rows when some
    changes touch the shortlist or presets."""
    since = last_visit(user)
    start = since or timezone.now() - timedelta(days=FIRST_VISIT_DAYS)
    recent = CatalogChange.objects.filter(at__gt=start)
    counts = recent.aggregate(total=Count("pk"), touching=Count("pk", filter=_touching("service_id")))
    rows: list[CatalogChange] = []
    if counts["touching"]:
        impact = with_impact(touching(recent).select_related("service", "provider").defer("service__raw"))
        rows = list(impact.order_by("-at", "-pk")[:DIGEST_ROWS])
    for change in rows:
        change.impact = impact_labels(change)
    return ChangesDigest(
        since=since,
        count=counts["total"],
        touching_count=counts["touching"],
        touching=rows,
        jumps=price_jumps(),
    )
