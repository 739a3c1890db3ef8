"""Catalog rules: syncing a provider's service list into local rows, reading it back, and the
team's shortlist of approved services with its policy."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from catalog.changes import catalog_changes_record
from catalog.models import CatalogSync, Favourite, Service, ServicePriceChange, ShortlistEntry, TeamPolicy
from catalog.platforms import platform_for
from catalog.refill import LIFETIME, refill_days_label, refill_days_parse
from catalog.signals import refill_period_corrected
from jappanel.db import bulk_insert, bulk_upsert, column_misfit
from jappanel.events import Occurrence, announce
from providers.client import ProviderError
from providers.client.results import ServiceInfo
from providers.models import Provider
from providers.services import provider_record_error

logger = logging.getLogger(__name__)

# Ids per deactivating UPDATE.
BATCH_SIZE = 1000
RATE_PLACES = Decimal("0.00001")
# A longer name is cut to this (and the cut recorded): pages show a line of it, not a page.
NAME_LENGTH = 500
# Reasons (skipped or shortened services) kept on a sync run; the log has them all.
NOTES_KEPT = 10

# The fields a sync copies from the provider; a difference in any of them is an update.
SYNCED_FIELDS = (
    "name",
    "type",
    "category",
    "platform",
    "rate",
    "min_quantity",
    "max_quantity",
    "refill",
    "refill_days",
    "cancel",
    "dripfeed",
    "raw",
)


class SyncAlreadyRunning(Exception):
    """Another sync of the same provider is under way."""


@dataclass(frozen=True)
class SyncReport:
    provider: str
    added: int
    updated: int
    deactivated: int
    unchanged: int
    skipped: int
    seconds: float
    error: str = ""
    # Why services were skipped or shortened (`service 12: the rate -1 is negative`).
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        for optional in ("error", "notes"):
            if not data[optional]:
                data.pop(optional)
        return data

    @property
    def message(self) -> str:
        """What the run records: the error, or the reasons services were skipped or shortened."""
        if self.error or not self.notes:
            return self.error
        more = len(self.notes) - NOTES_KEPT
        return "; ".join(self.notes[:NOTES_KEPT]) + (f"; and {more:,} more" if more > 0 else "") + "."


def _json_safe(value: object) -> object:
    # The client parses numbers as Decimal; the stored record keeps them as JSON strings so
    # that a re-read row compares equal to the next answer.
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _values(info: ServiceInfo) -> tuple[dict[str, object] | None, str]:
    """The row of `info`, or None when it cannot be stored; and the reason, when there is one.

    A name or category too long is cut (the service stays orderable); a type, rate or limit
    beyond its column is no service we can price, and is skipped.
    """
    name, category, notes = info.name, info.category, []
    if len(name) > NAME_LENGTH:
        name, notes = name[:NAME_LENGTH], [*notes, f"name cut to {NAME_LENGTH} characters"]
    category_length = Service._meta.get_field("category").max_length
    if len(category) > category_length:
        category, notes = (
            category[:category_length],
            [*notes, f"category cut to {category_length} characters"],
        )
    values = {
        "name": name,
        "type": info.type,
        "category": category,
        "platform": platform_for(category, name),
        # Stored with five decimals: quantize first, or every sync would see a "change".
        "rate": info.rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
        "min_quantity": info.min,
        "max_quantity": info.max,
        "refill": info.refill,
        "cancel": info.cancel,
        "dripfeed": info.dripfeed,
        "raw": _json_safe(info.raw),
    }
    for field in ("type", "rate", "min_quantity", "max_quantity"):
        if misfit := column_misfit(Service, field, values[field]):
            return None, f"skipped, its {field.replace('_', ' ')} is {misfit}"
    return values, ", ".join(notes)


def catalog_sync_start(*, provider: Provider, stage: str = "Waiting for a worker") -> CatalogSync:
    """Open a sync run for `provider`, or raise SyncAlreadyRunning.

    A run left "running" by a killed worker would block the provider forever; one older than
    the task's hard time limit cannot still be alive, so it is closed as failed and the run
    is opened after all.
    """
    try:
        return _open_run(provider, stage)
    except IntegrityError:
        stale_before = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
        closed = CatalogSync.objects.filter(
            provider=provider, status=CatalogSync.Status.RUNNING, started_at__lt=stale_before
        ).update(
            status=CatalogSync.Status.FAILED,
            finished_at=timezone.now(),
            message="Interrupted: the worker stopped.",
        )
        if not closed:
            raise SyncAlreadyRunning(f"A catalog sync of {provider.name} is already running.") from None
    return _open_run(provider, stage)


def _open_run(provider: Provider, stage: str) -> CatalogSync:
    with transaction.atomic():
        return CatalogSync.objects.create(provider=provider, stage=stage)


def catalog_sync(*, provider: Provider, run: CatalogSync | None = None) -> SyncReport:
    """Bring the local catalog of `provider` in line with its `services` answer.

    One `services` call, then bulk upserts of the new and changed rows only: a re-sync with
    nothing changed reads once and writes no service row. A failing provider leaves the
    previous catalog as it was and records the failure on the provider and the run.
    """
    asking = f"Asking {provider.name} for its services"
    if run is None:
        run = catalog_sync_start(provider=provider, stage=asking)
    else:
        _progress(run, asking)
    started = time.monotonic()
    try:
        with provider.client() as client:
            answer = client.services()
    except ProviderError as error:
        provider_record_error(provider=provider, error=error)
        report = SyncReport(provider.name, 0, 0, 0, 0, 0, round(time.monotonic() - started, 3), error.message)
        _finish(run, report)
        logger.warning("catalog sync of %s failed: %s", provider.name, error.message)
        return report

    now = timezone.now()
    existing = {
        row["service_id"]: row
        for row in Service.objects.filter(provider=provider).values(
            "id", "service_id", "active", *SYNCED_FIELDS
        )
    }
    to_write: list[dict[str, object]] = []
    price_changes: list[tuple[int, dict[str, object], dict[str, object]]] = []
    added = updated = unchanged = skipped = 0
    notes = list(answer.skipped)
    seen: set[int] = set()
    for info in answer.services:
        if info.id in seen:
            continue  # a duplicated id in one answer: the first entry wins
        values, note = _values(info)
        if note:
            notes.append(f"service {info.id}: {note}")
        if values is None:
            # Left unseen: a stored service the panel now describes wrongly becomes inactive.
            skipped += 1
            continue
        seen.add(info.id)
        old = existing.get(info.id)
        # Read again only from a new name or flag: parsing is most of a re-sync's Python time.
        same = old is not None and (old["name"], old["refill"]) == (values["name"], values["refill"])
        values["refill_days"] = (
            old["refill_days"] if same else refill_days_parse(values["name"], values["refill"])
        )
        if old is None:
            added += 1
        elif old["active"] and all(old[field] == values[field] for field in SYNCED_FIELDS):
            unchanged += 1
            continue
        else:
            updated += 1
            if (old["rate"], old["min_quantity"], old["max_quantity"]) != (
                values["rate"],
                values["min_quantity"],
                values["max_quantity"],
            ):
                price_changes.append((old["id"], old, values))
        to_write.append(
            {
                "provider_id": provider.pk,
                "service_id": info.id,
                "active": True,
                "first_seen_at": now,
                "last_seen_at": now,
                **values,
            }
        )

    missing = [sid for sid, row in existing.items() if row["active"] and sid not in seen]
    if to_write or missing:
        _progress(run, f"Saving {len(to_write) + len(missing):,} changes")
        _write(provider, to_write, price_changes, missing, now, existing)

    report = SyncReport(
        provider=provider.name,
        added=added,
        updated=updated,
        deactivated=len(missing),
        unchanged=unchanged,
        skipped=answer.skipped_count + skipped,
        seconds=round(time.monotonic() - started, 3),
        notes=tuple(notes),
    )
    if notes:
        logger.warning("catalog sync of %s: %s", provider.name, "; ".join(notes))
    _finish(run, report)
    return report


def _write(
    provider: Provider,
    to_write: list[dict[str, object]],
    price_changes: list[tuple[int, dict[str, object], dict[str, object]]],
    missing: list[int],
    now: datetime,
    existing: dict[int, dict[str, object]],
) -> None:
    with transaction.atomic():
        bulk_upsert(
            Service,
            to_write,
            unique_fields=["provider", "service_id"],
            update_fields=[*SYNCED_FIELDS, "active", "last_seen_at"],
        )
        bulk_insert(
            ServicePriceChange,
            [
                {
                    "service_id": pk,
                    "changed_at": now,
                    "old_rate": old["rate"],
                    "new_rate": new["rate"],
                    "old_min": old["min_quantity"],
                    "new_min": new["min_quantity"],
                    "old_max": old["max_quantity"],
                    "new_max": new["max_quantity"],
                }
                for pk, old, new in price_changes
            ],
        )
        for start in range(0, len(missing), BATCH_SIZE):
            Service.objects.filter(
                provider=provider, service_id__in=missing[start : start + BATCH_SIZE]
            ).update(active=False)
        catalog_changes_record(
            provider_id=provider.pk, existing=existing, written=to_write, missing=missing, now=now
        )


def catalog_sync_request(*, providers: list[Provider]) -> list[CatalogSync]:
    """Open a run per provider and queue its sync after commit ("Sync now").

    A provider already syncing keeps its running run, which is returned to be watched.
    """
    from catalog.tasks import sync_provider_catalog

    runs = []
    for provider in providers:
        try:
            run = catalog_sync_start(provider=provider)
        except SyncAlreadyRunning:
            runs.append(CatalogSync.objects.get(provider=provider, status=CatalogSync.Status.RUNNING))
            continue
        transaction.on_commit(lambda p=provider.pk, r=run.pk: sync_provider_catalog.delay(p, r))
        runs.append(run)
    return runs


def catalog_stale_providers(*, providers: Iterable[Provider]) -> list[Provider]:
    """Those of `providers` whose catalog needs a sync now: never synced successfully, changed
    (URL, key, re-enabled) since their last successful sync, or synced longer ago than
    CATALOG_SYNC_INTERVAL_MINUTES."""
    providers = list(providers)
    last_ok = dict(
        CatalogSync.objects.filter(provider__in=providers, status=CatalogSync.Status.OK)
        .values("provider")
        .annotate(at=Max("started_at"))
        .values_list("provider", "at")
    )
    due = timezone.now() - timedelta(minutes=settings.CATALOG_SYNC_INTERVAL_MINUTES)
    return [
        provider
        for provider in providers
        if (synced := last_ok.get(provider.pk)) is None or synced < max(due, provider.updated_at)
    ]


def favourite_set(*, user: AbstractBaseUser, service: Service, starred: bool) -> None:
    """Star or unstar `service` for `user`; doing it twice changes nothing."""
    if starred:
        Favourite.objects.get_or_create(user=user, service=service)
    else:
        Favourite.objects.filter(user=user, service=service).delete()


def _progress(run: CatalogSync, stage: str) -> None:
    CatalogSync.objects.filter(pk=run.pk).update(stage=stage)


def _finish(run: CatalogSync, report: SyncReport) -> None:
    CatalogSync.objects.filter(pk=run.pk).update(
        stage="",
        status=CatalogSync.Status.FAILED if report.error else CatalogSync.Status.OK,
        finished_at=timezone.now(),
        added=report.added,
        updated=report.updated,
        deactivated=report.deactivated,
        unchanged=report.unchanged,
        skipped=report.skipped,
        message=report.message,
    )
    if report.error:
        announce([Occurrence("catalog.sync_failed", f"sync:{run.pk}", {"provider_id": run.provider_id})])


# The shortlist and the team policy: each change is written to the audit log, before and after.


def _entry_values(entry: ShortlistEntry) -> dict[str, object]:
    return {
        "service": entry.service.service_id,
        "provider": entry.service.provider.name,
        "house_name": entry.house_name,
        "notes": entry.notes,
        "tags": entry.tags,
    }


def shortlist_save(
    *, entry: ShortlistEntry, user: AbstractBaseUser | None, ip: str | None = None
) -> ShortlistEntry:
    """Put a service on the shortlist, or change its entry (house name, notes, tags), audited.

    The fields are checked by the caller's form; the tags are stored in their clean form.
    """
    entry.tags = ShortlistEntry.tags_clean(entry.tags)
    before = None
    if entry.pk is not None:
        before = _entry_values(ShortlistEntry.objects.select_related("service__provider").get(pk=entry.pk))
    else:
        entry.added_by = user if user is not None and user.is_authenticated else None
        entry.added_at = timezone.now()
    with transaction.atomic():
        entry.save()
        audit_record(
            action=AuditAction.SHORTLIST_CHANGED,
            actor=user,
            ip=ip,
            target=entry,
            before=before,
            after=_entry_values(entry),
        )
    return entry


def shortlist_add(
    *,
    service: Service,
    house_name: str,
    notes: str = "",
    tags: str = "",
    user: AbstractBaseUser | None,
    ip: str | None = None,
) -> ShortlistEntry:
    """Shortlist `service` under `house_name`; a service already on the list has its entry changed."""
    entry = ShortlistEntry.objects.filter(service=service).first() or ShortlistEntry(service=service)
    entry.house_name, entry.notes, entry.tags = house_name, notes, tags
    return shortlist_save(entry=entry, user=user, ip=ip)


def shortlist_remove(*, entry: ShortlistEntry, user: AbstractBaseUser | None, ip: str | None = None) -> None:
    """Take a service off the shortlist, audited with the entry as it was."""
    with transaction.atomic():
        audit_record(
            action=AuditAction.SHORTLIST_CHANGED,
            actor=user,
            ip=ip,
            target=entry,
            before=_entry_values(entry),
            after=None,
            note="Removed from the shortlist",
        )
        entry.delete()


def team_policy_save(
    *, policy: TeamPolicy, user: AbstractBaseUser | None, ip: str | None = None
) -> TeamPolicy:
    """Save the team policy (who may order off the shortlist); a change is audited, no change is not."""
    stored = TeamPolicy.current()
    if stored.shortlist_rule == policy.shortlist_rule:
        return policy
    with transaction.atomic():
        policy.save()
        audit_record(
            action=AuditAction.TEAM_POLICY_CHANGED,
            actor=user,
            ip=ip,
            target=policy,
            before={"shortlist_rule": stored.shortlist_rule},
            after={"shortlist_rule": policy.shortlist_rule},
        )
    return policy


def service_refill_correct(
    *, service: Service, days: int | None, user: AbstractBaseUser | None, ip: str | None = None
) -> Service:
    """Set the refill period a manager says `service` has (days; 0: none; LIFETIME), or None to
    follow the panel's data again. Kept across syncs, audited; the refill windows of the
    service's orders follow."""
    if days is not None and not 0 <= days <= LIFETIME:
        raise ValueError(f"A refill period is 0 to {LIFETIME} days.")
    before = service.refill_days_override
    if before == days:
        return service
    with transaction.atomic():
        Service.objects.filter(pk=service.pk).update(refill_days_override=days)
        service.refill_days_override = days
        audit_record(
            action=AuditAction.SERVICE_REFILL_CHANGED,
            actor=user,
            ip=ip,
            target=service,
            before={"refill": _override_text(before, service.refill_days)},
            after={"refill": _override_text(days, service.refill_days)},
        )
        refill_period_corrected.send(sender=Service, service=service)
    return service


def _override_text(override: int | None, parsed: int) -> str:
    if override is None:
        return f"as the panel says ({refill_days_label(parsed)})"
    return refill_days_label(override)
