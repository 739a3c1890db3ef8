"""Saving presets, and applying one to many links: a preview with its total, then the orders.

Applying goes through the same checks and the same `orders_create` as any order: the catalog,
the link's platform, the service's bounds and the funds per row, then budgets, campaign and
approvals once for the whole batch. One apply is one submission: a second post of the same form
finds the orders of the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import capfirst

from audit.models import AuditAction
from audit.services import audit_record
from catalog.models import Service, ShortlistRule
from orders.models import Order
from orders.services.common import ZERO, OrderInvalid
from orders.services.links import lines_waiting
from orders.services.placing import (
    OrderDraft,
    Submitted,
    order_estimate,
    order_validate,
    orders_create,
    uncharged_total,
)
from orders.services.policy import approvals_needed, off_shortlist
from presets.models import Preset, PresetLine
from providers.client import SERVICE_TYPES
from team.models import Campaign

# One apply makes at most MAX_ORDERS orders, for at most MAX_LINKS links: a preview larger than
# that is no longer something a person reads before paying for it.
MAX_LINKS = 100
MAX_ORDERS = 500
# The fields of a preset line: services ordered by link and quantity (and maybe a drip-feed).
LINE_FIELDS = ("link", "quantity")


def links_parse(text: str) -> list[str]:
    """The links of a textarea, one per line, blank lines left out."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def preset_links_check(*, links: Sequence[str], line_count: int) -> None:
    """Raise OrderInvalid (on `links`) for no link, a link given twice, or too many orders."""
    if not links:
        raise OrderInvalid({"links": "Enter at least one link, one per line."})
    seen: dict[str, int] = {}
    twice = []
    for number, link in enumerate(links, start=1):
        if link in seen:
            twice.append(f"{link} (lines {seen[link]} and {number})")
        seen.setdefault(link, number)
    if twice:
        raise OrderInvalid({"links": "Each link once, please; given twice: " + "; ".join(twice) + "."})
    orders = len(links) * line_count
    if len(links) > MAX_LINKS or orders > MAX_ORDERS:
        raise OrderInvalid(
            {
                "links": f"{len(links)} links × {line_count} line{'s' if line_count != 1 else ''} "
                f"make {orders} orders: one apply takes at most {MAX_LINKS} links "
                f"and {MAX_ORDERS} orders. Split the links into smaller batches."
            }
        )


def preset_line_errors(
    *, service: Service, quantity: int | None, runs: int | None, interval: int | None
) -> dict[str, str]:
    """Why a line cannot be part of a preset, by field (empty when it can).

    Checked again for every row when the preset is applied: the catalog may change meanwhile.
    """
    errors: dict[str, str] = {}
    if not service.active or not service.provider.active:
        errors["service"] = f"{service.provider.name} no longer offers #{service.service_id}."
    required = SERVICE_TYPES.get(service.type, ((), ()))[0]
    if tuple(required) != LINE_FIELDS:
        errors.setdefault(
            "service",
            (
                f"#{service.service_id} is a {service.type} service: a preset takes services "
                "ordered by link and quantity."
            ),
        )
    if quantity is not None and not service.min_quantity <= quantity <= service.max_quantity:
        errors["quantity"] = (
            f"#{service.service_id} takes {service.min_quantity:,} to {service.max_quantity:,}; "
            f"quantity: {quantity:,}."
        )
    if (runs is not None or interval is not None) and not service.dripfeed:
        errors["runs"] = f"#{service.service_id} has no drip-feed: leave runs and interval empty."
    return errors


def preset_attention(preset: Preset) -> list[str]:
    """One sentence per line of `preset` that cannot be ordered as it is now: its service is gone
    or changed (limits, drip-feed) since the preset was saved. Empty when every line can."""
    problems = []
    for number, line in enumerate(preset.lines.all(), start=1):
        errors = preset_line_errors(
            service=line.service, quantity=line.quantity, runs=line.runs, interval=line.interval
        )
        if errors:
            problems.append(f"Line {number}: " + " ".join(errors.values()))
    return problems


def lines_need_attention(count: int) -> str:
    """ "1 line needs attention", "2 lines need attention"."""
    return f"{count} line needs attention" if count == 1 else f"{count} lines need attention"


def _line_fields(line: PresetLine, link: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"quantity": line.quantity, "runs": line.runs, "interval": line.interval}
    if link is not None:
        fields["link"] = link
    return fields


def _values(preset: Preset) -> dict[str, Any]:
    return {
        "name": preset.name,
        "notes": preset.notes,
        "campaign": preset.campaign.name if preset.campaign else None,
        "active": preset.active,
        "lines": [
            {
                "service": line.service.service_id,
                "provider": line.service.provider.name,
                "quantity": line.quantity,
                "runs": line.runs,
                "interval": line.interval,
            }
            for line in preset.lines.select_related("service__provider")
        ],
    }


def _audit_change(
    preset: Preset,
    before: dict[str, Any] | None,
    *,
    user: AbstractBaseUser | None,
    ip: str | None,
    note: str = "",
) -> None:
    audit_record(
        action=AuditAction.PRESET_CHANGED,
        actor=user,
        ip=ip,
        target=preset,
        before=before,
        after=_values(preset),
        note=note,
    )


def preset_save(
    *,
    preset: Preset,
    lines: Sequence[PresetLine],
    user: AbstractBaseUser | None,
    ip: str | None,
) -> Preset:
    """Create or change a preset with exactly `lines`, in their order; audited before and after.

    The lines are replaced as a whole: nothing points at a line, and the order is their position.
    """
    before = _values(Preset.objects.get(pk=preset.pk)) if preset.pk is not None else None
    if preset.pk is None and user is not None and user.is_authenticated:
        preset.created_by = user
    with transaction.atomic():
        preset.save()
        preset.lines.all().delete()
        PresetLine.objects.bulk_create(
            PresetLine(
                preset=preset,
                position=position,
                service=line.service,
                quantity=line.quantity,
                runs=line.runs,
                interval=line.interval,
            )
            for position, line in enumerate(lines, start=1)
        )
        _audit_change(preset, before, user=user, ip=ip)
    return preset


def preset_archive(*, preset: Preset, user: AbstractBaseUser | None, ip: str | None) -> Preset:
    """Hide a preset from the list and from applying; kept, so the audit log still names it."""
    before = _values(preset)
    with transaction.atomic():
        preset.active = False
        preset.save(update_fields=["active", "updated_at"])
        _audit_change(preset, before, user=user, ip=ip, note="archived")
    return preset


def preset_cost_per_link(preset: Preset) -> dict[str, Decimal]:
    """What one link costs with every line of the preset, per currency, at today's rates."""
    totals: dict[str, Decimal] = {}
    for line in preset.lines.all():
        currency = line.service.provider.currency
        totals[currency] = totals.get(currency, ZERO) + order_estimate(
            service=line.service, fields=_line_fields(line)
        )
    return totals


@dataclass
class PresetRow:
    """One order of an apply: a link and a line, and its draft or why it cannot be placed."""

    number: int
    link: str
    line: PresetLine
    draft: OrderDraft | None = None
    error: str = ""
    waits: bool = False
    # Will wait behind an open order on its link and service (or an earlier row's).
    waits_for_link: bool = False

    @property
    def ok(self) -> bool:
        return self.draft is not None


@dataclass
class PresetPreview:
    """Every order an apply would place, in order (by link, then by line), and their totals."""

    rows: list[PresetRow]
    totals: dict[str, Decimal] = field(default_factory=dict)

    @property
    def bad(self) -> int:
        return sum(1 for row in self.rows if not row.ok)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and self.bad == 0

    @property
    def links(self) -> list[str]:
        return list(dict.fromkeys(row.link for row in self.rows))

    @property
    def bad_links(self) -> list[str]:
        """The links with at least one order that cannot be placed, in the order given."""
        return list(dict.fromkeys(row.link for row in self.rows if not row.ok))

    @property
    def waiting(self) -> int:
        return sum(1 for row in self.rows if row.waits)

    @property
    def waiting_for_link(self) -> int:
        return sum(1 for row in self.rows if row.waits_for_link)


def preset_preview(
    *,
    preset: Preset,
    links: Sequence[str],
    campaign: Campaign | None = None,
    already_committed: Mapping[int, Decimal] | None = None,
    user: AbstractBaseUser | None = None,
) -> PresetPreview:
    """Check the order of every link × line as if all were placed, and total the good ones.

    `already_committed` maps a provider's id to money promised to orders its last known balance
    does not show (by default its queued orders); each row counts the rows above it too, so the
    total must fit the balance. The team's shortlist rule for `user` marks the rows that would
    wait for approval, or refuses them under "Shortlist only", as `orders_create` will.
    Raises OrderInvalid (on `links`) for duplicates or too many.
    """
    lines = list(preset.lines.select_related("service__provider"))
    rule, off = off_shortlist(service_ids={line.service_id for line in lines}, user=user)
    preset_links_check(links=links, line_count=len(lines))
    committed = dict(already_committed or {})
    for line in lines:
        provider = line.service.provider
        if provider.pk not in committed:
            committed[provider.pk] = uncharged_total(provider=provider)
    preview = PresetPreview(rows=[])
    for link in links:
        for line in lines:
            row = PresetRow(number=len(preview.rows) + 1, link=link, line=line)
            preview.rows.append(row)
            provider = line.service.provider
            if rule == ShortlistRule.ONLY and line.service_id in off:
                row.error = f"Service: #{line.service.service_id} is not on the team's shortlist."
                continue
            try:
                row.draft = order_validate(
                    service=line.service,
                    fields=_line_fields(line, link),
                    already_committed=committed[provider.pk],
                )
            except OrderInvalid as exc:
                row.error = "; ".join(
                    text if name == "__all__" else f"{capfirst(name)}: {text}"
                    for name, text in exc.errors.items()
                )
                continue
            committed[provider.pk] += row.draft.estimate
            preview.totals[provider.currency] = (
                preview.totals.get(provider.currency, ZERO) + row.draft.estimate
            )
    placed = [row for row in preview.rows if row.draft is not None]
    orders = [
        Order(
            currency=row.line.service.provider.currency,
            estimated_charge=row.draft.estimate,
            service=row.line.service,
        )
        for row in placed
        if row.draft is not None
    ]
    for row, reasons in zip(placed, approvals_needed(orders, campaign, off_shortlist=off), strict=True):
        row.waits = bool(reasons)
    behind = lines_waiting([(row.line.service_id, str(row.draft.fields.get("link", ""))) for row in placed])
    for row, waits in zip(placed, behind, strict=True):
        row.waits_for_link = waits
    return preview


def preset_apply(
    *,
    preset: Preset,
    links: Sequence[str],
    campaign: Campaign | None,
    token: str,
    user: AbstractBaseUser | None = None,
    ip: str | None = None,
    enqueue: bool = True,
) -> list[Order]:
    """Queue one order per line and per link, all or none; the same `token` again returns them.

    Raises OrderInvalid when any row is invalid (nothing is placed) or a budget or the campaign
    refuses; SubmissionConflict when the token placed orders for other links, another campaign
    or another version of the preset.
    """

    def drafts() -> list[OrderDraft]:
        if not preset.active:
            raise OrderInvalid({"__all__": f"Preset “{preset.name}” is archived."})
        problems = preset_attention(preset)
        if problems:
            raise OrderInvalid(
                {
                    "__all__": f"{lines_need_attention(len(problems))}: {' '.join(problems)} Nothing was "
                    "placed: change the preset first."
                }
            )
        preview = preset_preview(preset=preset, links=links, campaign=campaign, user=user)
        if not preview.ok:
            raise OrderInvalid(
                {
                    "__all__": f"{preview.bad} of the {len(preview.rows)} orders cannot be placed as "
                    "they are: nothing was placed. Fix or remove those links, or change the preset."
                }
            )
        return [row.draft for row in preview.rows if row.draft is not None]

    content = {"preset": preset.pk, "version": preset.updated_at, "links": list(links)}
    return orders_create(
        submitted=Submitted(token=token, content=content),
        drafts=drafts,
        user=user,
        ip=ip,
        campaign=campaign,
        enqueue=enqueue,
    )
