"""What each occurrence means: which event (kind, key, title, link, data) and who hears of it.

One function per occurrence kind; each reads what it needs in one or two queries for a whole
batch (a polling round announces thousands of moves at once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from catalog.changes import impact_labels, touching, with_impact
from catalog.models import CatalogChange, CatalogSync
from jappanel.events import Occurrence
from jappanel.web.access import ACTIONS
from notifications.models import BalanceAlert, Kind
from orders.models import Order, OrderStatus
from orders.services.spend import budget_spent
from providers.models import Provider
from team.models import Budget, Campaign

User = get_user_model()


@dataclass
class Draft:
    """An event about to be recorded, with its audience: `people` by id, and everyone who may
    do `action` (e.g. "approve_order"), less `exclude`."""

    kind: str
    key: str
    title: str
    url: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    campaign_id: int | None = None
    people: set[int] = field(default_factory=set)
    action: str = ""
    exclude: set[int] = field(default_factory=set)


def _money(amount: Decimal | None, currency: str) -> str:
    return f"{amount or 0:,.2f} {currency}"


ORDER_FIELDS = ("id", "code", "user_id", "campaign_id", "status", "estimated_charge", "charge", "currency")
MOVES = {
    OrderStatus.UNCONFIRMED: (Kind.ORDER_UNCONFIRMED, "Order {code} needs a person: its outcome is unknown"),
    OrderStatus.REJECTED: (Kind.ORDER_REJECTED, "Order {code} was rejected"),
    OrderStatus.PARTIAL: (Kind.ORDER_PARTIAL, "Order {code} was delivered in part"),
    OrderStatus.CANCELED: (Kind.ORDER_CANCELED, "Order {code} was canceled"),
}


def _order_money(row: dict[str, Any]) -> str:
    return _money(row["estimated_charge"], row["currency"])


def _order_data(row: dict[str, Any]) -> dict[str, Any]:
    amount = row["charge"] if row["charge"] is not None else row["estimated_charge"]
    return {"order_code": row["code"], "amount": str(amount), "currency": row["currency"]}


def _orders(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = set(ids)
    if not ids:
        return {}
    return {row["id"]: row for row in Order.objects.filter(pk__in=ids).values(*ORDER_FIELDS)}


def _told(occurrence: Occurrence) -> bool:
    """Whether a move is one a person hears of, from the occurrence alone (no query)."""
    return occurrence.data["to"] in MOVES or occurrence.data.get("event") in ("approved", "declined")


def order_moves(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """`order.moved` {order_id, to, event}: the moves a person needs to hear of, if they held."""
    wanted = [o for o in occurrences if _told(o)]
    if not wanted:
        return []
    # A polling round sends each order as its move left it; others are read here.
    orders = _orders(o.data["order_id"] for o in wanted if "order" not in o.data)
    drafts = []
    for occurrence in wanted:
        row = occurrence.data.get("order") or orders.get(occurrence.data["order_id"])
        # A polling change may have lost its race with a person: only what holds is told.
        if row is None or row["status"] != occurrence.data["to"]:
            continue
        url = reverse("orders:order_detail", args=[row["code"]])
        common = {"url": url, "campaign_id": row["campaign_id"], "people": {row["user_id"]} - {None}}
        if occurrence.data.get("event") in ("approved", "declined"):
            verdict = occurrence.data["event"]
            drafts.append(
                Draft(
                    kind=Kind.APPROVAL_DECIDED,
                    key=f"order:{row['id']}:decided",
                    title=f"Order {row['code']} was {verdict}",
                    data={**_order_data(row), "decision": verdict},
                    **common,
                )
            )
            continue
        kind, title = MOVES[row["status"]]
        drafts.append(
            Draft(
                kind=kind,
                key=f"order:{row['id']}:{row['status']}",
                title=title.format(code=row["code"]),
                data={**_order_data(row), "status": row["status"]},
                # Nobody placed it (a command): whoever may resolve orders hears of it.
                action="" if row["user_id"] else "resolve_order",
                **common,
            )
        )
    return drafts


def orders_placed(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """`order.placed` {order_id}: approval requests, and the budgets the orders brought to 80% or 100%."""
    orders = _orders(o.data["order_id"] for o in occurrences)
    drafts = [
        Draft(
            kind=Kind.APPROVAL_REQUESTED,
            key=f"order:{row['id']}:approval",
            title=f"Order {row['code']} ({_order_money(row)}) waits for approval",
            url=reverse("orders:order_detail", args=[row["code"]]),
            data=_order_data(row),
            campaign_id=row["campaign_id"],
            action="approve_order",
            exclude={row["user_id"]},
        )
        for row in orders.values()
        if row["status"] == OrderStatus.AWAITING_APPROVAL
    ]
    return drafts + budgets_reached(orders.values())


def _reached(spent: Decimal, amount: Decimal) -> int | None:
    if amount <= 0:
        return None
    share = spent / amount
    return 100 if share >= 1 else 80 if share >= Decimal("0.8") else None


def budgets_reached(rows: Iterable[dict[str, Any]]) -> list[Draft]:
    """The person's, the campaign's and the provider caps that `rows` (orders just placed) took
    past 80% or 100% this month; each threshold is told once a month."""
    rows = list(rows)
    if not rows:
        return []
    month = timezone.localdate()
    tag = month.strftime("%Y-%m")
    url = reverse("team:budget_list")
    users = {row["user_id"] for row in rows} - {None}
    campaigns = {row["campaign_id"] for row in rows} - {None}
    provider_ids = set(
        Order.objects.filter(pk__in=[r["id"] for r in rows]).values_list("provider_id", flat=True)
    )
    drafts = []
    scopes: list[tuple[str, Any, Decimal, str, str, set[int]]] = []
    for budget in Budget.objects.filter(
        Q(user_id__in=users) | Q(provider_id__in=provider_ids)
    ).select_related("user", "provider"):
        if budget.user_id:
            scopes.append(
                (
                    "user",
                    budget.user,
                    budget.amount,
                    budget.currency,
                    f"{budget.user}'s budget",
                    {budget.user_id},
                )
            )
        else:
            scopes.append(
                (
                    "provider",
                    budget.provider,
                    budget.amount,
                    budget.currency,
                    f"the {budget.provider.name} cap",
                    set(),
                )
            )
    for campaign in Campaign.objects.filter(pk__in=campaigns, monthly_budget__isnull=False):
        scopes.append(
            (
                "campaign",
                campaign,
                campaign.monthly_budget,
                campaign.currency,
                f"campaign “{campaign.name}”",
                set(),
            )
        )
    for scope, subject, amount, currency, label, people in scopes:
        spent = budget_spent(month=month, currency=currency, **{scope: subject})
        level = _reached(spent, amount)
        if level is None:
            continue
        drafts.append(
            Draft(
                kind=Kind.BUDGET_REACHED,
                key=f"budget:{scope}:{subject.pk}:{tag}:{level}",
                title=f"{label[0].upper()}{label[1:]} reached {level}%: "
                f"{_money(spent, currency)} of {_money(amount, currency)}",
                url=url,
                data={
                    "scope": scope,
                    f"{scope}_id": subject.pk,
                    "percent": level,
                    "spent": str(spent),
                    "amount": str(amount),
                    "currency": currency,
                },
                campaign_id=subject.pk if scope == "campaign" else None,
                people=people,
                action="manage_budgets",
            )
        )
    return drafts


def refills_refused(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """`refill.refused` {refill_id, order_id, error}."""
    orders = _orders(o.data["order_id"] for o in occurrences)
    drafts = []
    for occurrence in occurrences:
        row = orders.get(occurrence.data["order_id"])
        if row is None:
            continue
        drafts.append(
            Draft(
                kind=Kind.REFILL_REFUSED,
                key=f"refill:{occurrence.data['refill_id']}:refused",
                title=f"The refill of order {row['code']} was refused: {occurrence.data.get('error', '')}",
                url=reverse("orders:order_detail", args=[row["code"]]),
                data={"order_code": row["code"], "refill_id": occurrence.data["refill_id"]},
                campaign_id=row["campaign_id"],
                people={row["user_id"]} - {None},
                action="" if row["user_id"] else "resolve_order",
            )
        )
    return drafts


def balance_forecast(provider: Provider, *, now: Any = None) -> Decimal | None:
    """Days the balance lasts at the last 7 days' net spend (charges less refunds), or None
    when nothing was spent."""
    now = now or timezone.now()
    week = Order.objects.filter(provider=provider, created_at__gte=now - timedelta(days=7)).exclude(
        status__in=[
            OrderStatus.CANCELED,
            OrderStatus.REJECTED,
            OrderStatus.DECLINED,
            OrderStatus.AWAITING_APPROVAL,
        ]
    )
    spent = week.aggregate(total=Sum(Coalesce("charge", "estimated_charge")))["total"] or Decimal(0)
    if spent <= 0:
        return None
    return (provider.balance or Decimal(0)) / (spent / 7)


def balances_read(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """`provider.balance` {provider_id}: low under its threshold, or lasting at most
    NOTIFY_BALANCE_DAYS at this week's pace; told once a day per provider."""
    drafts = []
    thresholds = dict(BalanceAlert.objects.values_list("provider_id", "threshold"))
    for provider in Provider.objects.filter(pk__in={o.data["provider_id"] for o in occurrences}):
        if provider.is_sandbox or provider.balance is None:
            continue
        days = balance_forecast(provider)
        threshold = thresholds.get(provider.pk)
        below = threshold is not None and provider.balance < threshold
        short = days is not None and days <= settings.NOTIFY_BALANCE_DAYS
        if not (below or short):
            continue
        pace = f"; lasts about {max(int(days), 0)} days at this week's pace" if days is not None else ""
        drafts.append(
            Draft(
                kind=Kind.BALANCE_LOW,
                key=f"balance:{provider.pk}:{timezone.localdate().isoformat()}",
                title=f"{provider.name} balance is low: {_money(provider.balance, provider.currency)}{pace}",
                url=reverse("team:provider_list"),
                data={
                    "provider_id": provider.pk,
                    "balance": str(provider.balance),
                    "currency": provider.currency,
                    "days_left": None if days is None else str(days.quantize(Decimal("0.1"))),
                },
                action="manage_providers",
            )
        )
    return drafts


def catalog_changes(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """`catalog.changed` {provider_id, at}: each change touching the shortlist or a preset."""
    drafts = []
    for occurrence in occurrences:
        changes = with_impact(
            touching(
                CatalogChange.objects.filter(
                    provider_id=occurrence.data["provider_id"], at=occurrence.data["at"]
                )
            )
        ).select_related("service")
        for change in changes[: settings.NOTIFY_CHANGES_PER_SYNC]:
            what, labels = change.get_kind_display().lower(), ", ".join(impact_labels(change))
            values = (
                f": {change.old_value} → {change.new_value}" if change.old_value or change.new_value else ""
            )
            percent = f" ({change.percent:+}%)" if change.percent is not None else ""
            drafts.append(
                Draft(
                    kind=Kind.CATALOG_CHANGED,
                    key=f"change:{change.pk}",
                    title=f"{change.service.name}: {what}{values}{percent} ({labels})",
                    url=reverse("catalog:service_detail", args=[change.service_id]),
                    data={
                        "service_id": change.service_id,
                        "change": change.kind,
                        "percent": None if change.percent is None else str(change.percent),
                    },
                    action="manage_shortlist",
                )
            )
    return drafts


def syncs_failed(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """`catalog.sync_failed` {provider_id}: NOTIFY_SYNC_FAILURES failures in a row, told once a streak."""
    drafts = []
    streak = settings.NOTIFY_SYNC_FAILURES
    for provider_id in {o.data["provider_id"] for o in occurrences}:
        runs = list(
            CatalogSync.objects.filter(provider_id=provider_id)
            .exclude(status=CatalogSync.Status.RUNNING)
            .order_by("-started_at", "-pk")
            .values("pk", "status", "message")[: streak + 1]
        )
        failed = [run for run in runs[:streak] if run["status"] == CatalogSync.Status.FAILED]
        if len(failed) < streak:
            continue
        # The streak is named by its first failure: more failures after it are the same streak.
        first = (
            failed[-1]["pk"]
            if len(runs) <= streak or runs[streak]["status"] != CatalogSync.Status.FAILED
            else None
        )
        if first is None:
            continue
        name = Provider.objects.filter(pk=provider_id).values_list("name", flat=True).first()
        drafts.append(
            Draft(
                kind=Kind.SYNC_FAILED,
                key=f"sync:{provider_id}:{first}",
                title=f"The catalog sync of {name} failed {streak} times in a row: "
                f"{failed[0]['message'][:150]}",
                url=reverse("catalog:provider_record", args=[provider_id]),
                data={"provider_id": provider_id, "failures": streak},
                action="manage_providers",
            )
        )
    return drafts


def direct(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """Occurrences that are already drafts (health, disabled endpoints): `data` holds them."""
    return [Draft(**o.data) for o in occurrences]


RULES: dict[str, Callable[[Sequence[Occurrence]], list[Draft]]] = {
    "order.moved": order_moves,
    "order.placed": orders_placed,
    "refill.refused": refills_refused,
    "provider.balance": balances_read,
    "catalog.changed": catalog_changes,
    "catalog.sync_failed": syncs_failed,
    "notify.direct": direct,
}


def worth_reading(occurrences: Sequence[Occurrence]) -> list[Occurrence]:
    """Those of `occurrences` that may make an event, judged without a query: most moves of a
    polling round (to completed, in progress) make none, and cost nothing more."""
    return [o for o in occurrences if o.kind in RULES and (o.kind != "order.moved" or _told(o))]


def drafts_for(occurrences: Sequence[Occurrence]) -> list[Draft]:
    """Every occurrence's event, grouped by kind so that each rule reads its batch at once."""
    by_kind: dict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences:
        if occurrence.kind in RULES:
            by_kind[occurrence.kind].append(occurrence)
    return [draft for kind, batch in by_kind.items() for draft in RULES[kind](batch)]


def people_who_may(action: str) -> set[int]:
    """Active people allowed to do `action` (a role's permission, or superusers)."""
    label, codename = ACTIONS[action].split(".")
    granted = Q(
        groups__permissions__codename=codename, groups__permissions__content_type__app_label=label
    ) | Q(user_permissions__codename=codename, user_permissions__content_type__app_label=label)
    return set(
        User.objects.filter(Q(is_superuser=True) | granted, is_active=True).values_list("pk", flat=True)
    )
