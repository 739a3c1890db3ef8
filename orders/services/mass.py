"""Mass orders: many orders in one text, one line each, placed as one submission.

Shared by the mass-order page and the `place_orders` command.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from catalog.models import Service
from orders.models import Order
from orders.services.common import PROVIDER_ID, ZERO, OrderInvalid, User
from orders.services.links import lines_waiting
from orders.services.placing import (
    OrderDraft,
    Submitted,
    order_validate,
    orders_create,
    uncharged_total,
)
from providers.client.orders import LINES_FIELDS
from providers.models import Provider
from team.models import Campaign

MASS_FORMAT = "service_id | link | quantity | name=value | …"
# A mass order is read before it is paid for: past this, split it.
MAX_LINES = 1_000
MAX_CHARACTERS = 1_000_000  # "1 MB": of text in the box, of bytes in an upload


@dataclass
class MassLine:
    """One line of a mass order: its number in the text, and a draft or the reason it is refused."""

    number: int
    text: str
    draft: OrderDraft | None = None
    error: str = ""
    # Whether it will wait behind an open order on its link and service (see `mass_order_waiting`).
    waits: bool = False

    @property
    def ok(self) -> bool:
        return self.draft is not None


def _line_fields(parts: list[str]) -> dict[str, Any]:
    """`service | link | quantity | name=value …` without the service, as `add` fields."""
    fields: dict[str, Any] = {
        "link": parts[0] if parts else "",
        "quantity": parts[1] if len(parts) > 1 else "",
    }
    for part in parts[2:]:
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected name=value after the quantity, got {part!r}")
        name = name.strip()
        if fields.get(name) not in (None, ""):
            raise ValueError(f"{name} given twice")
        value = value.strip()
        # Fields holding one item per line take a literal "\n" between items on a mass-order line.
        fields[name] = value.replace("\\n", "\n") if name in LINES_FIELDS else value
    return fields


def mass_order_parse(text: str, *, provider: Provider) -> list[MassLine]:
    """Parse and validate every line of a mass order for `provider`, as if all were placed.

    Blank lines and lines starting with `#` are skipped. Each line is checked like a single
    order; the balance check counts the lines above it, so the total must fit the balance.
    Raises OrderInvalid (on `text`) for more than MAX_LINES lines or MAX_CHARACTERS of text.
    """
    if len(text) > MAX_CHARACTERS:
        raise OrderInvalid({"text": "A mass order is at most 1 MB of text: split it into smaller ones."})
    rows = [
        (number, raw)
        for number, raw in enumerate(text.splitlines(), start=1)
        if raw.strip() and not raw.lstrip().startswith("#")
    ]
    if len(rows) > MAX_LINES:
        raise OrderInvalid(
            {
                "text": f"A mass order has at most {MAX_LINES:,} lines; this one has {len(rows):,}. "
                "Split it into smaller ones."
            }
        )
    lines: list[MassLine] = []
    parsed: list[tuple[MassLine, int, dict[str, Any]]] = []
    for number, raw in rows:
        line = MassLine(number=number, text=raw.strip())
        lines.append(line)
        parts = [part.strip() for part in raw.split("|")]
        if not PROVIDER_ID.fullmatch(parts[0]):
            line.error = f"Expected {MASS_FORMAT}: the service id {parts[0]!r} is not a number."
            continue
        try:
            fields = _line_fields(parts[1:])
        except ValueError as exc:
            line.error = f"Expected {MASS_FORMAT}: {exc}."
            continue
        service_id = int(parts[0])
        parsed.append((line, service_id, fields))
    services = {
        service.service_id: service
        for service in Service.objects.filter(
            provider=provider, service_id__in={service_id for _, service_id, _ in parsed}
        ).select_related("provider")
    }
    committed = uncharged_total(provider=provider)
    for line, service_id, fields in parsed:
        service = services.get(service_id)
        if service is None:
            line.error = f"service: {provider.name} has no service {service_id} (sync the catalog?)."
            continue
        try:
            line.draft = order_validate(service=service, fields=fields, already_committed=committed)
        except OrderInvalid as exc:
            line.error = str(exc)
            continue
        committed += line.draft.estimate
    return lines


class MassLinesInvalid(OrderInvalid):
    """Lines that cannot be placed, when a mass order is placed all or nothing."""

    def __init__(self, bad: list[MassLine]) -> None:
        self.lines = bad
        super().__init__({"__all__": f"{len(bad)} line{'s' if len(bad) != 1 else ''} cannot be placed."})


def mass_order_waiting(lines: list[MassLine]) -> int:
    """Mark the good lines that will wait behind an open order on their link and service (or an
    earlier line of the same order), and return how many."""
    good = [line for line in lines if line.draft is not None]
    marks = lines_waiting([(line.draft.service.pk, str(line.draft.fields.get("link", ""))) for line in good])
    for line, waits in zip(good, marks, strict=True):
        line.waits = waits
    return sum(marks)


def mass_order_total(lines: list[MassLine]) -> Decimal:
    return sum((line.draft.estimate for line in lines if line.draft), ZERO)


def mass_order_place(
    *,
    lines: list[MassLine],
    provider: Provider,
    token: str,
    user: User | None = None,
    ip: str | None = None,
    campaign: Campaign | None = None,
    all_or_nothing: bool = False,
    enqueue: bool = True,
) -> list[Order]:
    """Queue every valid line as its own order, all in one submission: the same token with the
    same lines (or with only those that were placed) returns the same orders.

    Bad lines are skipped (the preview showed them), or with `all_or_nothing` refused with
    MassLinesInvalid. Raises OrderInvalid when no line can be placed, or when the lines together
    would exceed a budget: none is queued then; SubmissionConflict when the token placed other lines.
    """

    def content(chosen: list[MassLine]) -> dict[str, Any]:
        return {"mass": provider.pk, "lines": [line.text for line in chosen]}

    def drafts() -> list[OrderDraft]:
        bad = [line for line in lines if not line.ok]
        if all_or_nothing and bad:
            raise MassLinesInvalid(bad)
        valid = [line.draft for line in lines if line.draft is not None]
        if not valid:
            raise OrderInvalid({"__all__": "No line can be placed as it is: fix the lines marked bad."})
        return valid

    submitted = Submitted(
        token=token, content=content(lines), placed=content([line for line in lines if line.ok])
    )
    return orders_create(
        submitted=submitted, drafts=drafts, user=user, ip=ip, campaign=campaign, enqueue=enqueue
    )
