"""The sandbox simulation: seeded plans, and moving orders and refills along the sandbox clock.

An order's plan (when it starts, how long it runs, how it ends) is drawn from
settings.SANDBOX_SEED and a per-account key when it is created; `order_advance` moves its stored
state up to the clock on every read, creating drip-feed runs and subscription posts as they fall
due and crediting refunds exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F

from providers.sandbox import clock
from providers.sandbox.models import (
    FINAL_ORDER_STATUSES,
    FINAL_REFILL_STATUSES,
    Account,
    Order,
    OrderKind,
    Refill,
    RefillStatus,
    SandboxOrderStatus,
    Service,
)

ACCURACY = Decimal("0.00001")
PARTIAL_SHARE = 0.15


def service_cost(*, service: Service, quantity: int, runs: int = 1) -> Decimal:
    """What JAP charges: rate per 1000 units, or the rate per package for package types."""
    units = runs if service.is_package else Decimal(quantity * runs) / 1000
    return (service.rate * units).quantize(ACCURACY, rounding=ROUND_HALF_UP)


# The simulation plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    start_after: timedelta  # simulated
    duration: timedelta  # simulated
    start_count: int
    remains: int  # undelivered when it ends; more than 0 means Partial


def seeded_rng(key: str) -> random.Random:
    """A random generator that depends only on settings.SANDBOX_SEED and `key`."""
    return random.Random(f"{getattr(settings, 'SANDBOX_SEED', 0)}:{key}")


def order_plan(*, service: Service, quantity: int, key: str) -> Plan:
    """The deterministic course of an order: the same seed and key always give the same plan."""
    rng = seeded_rng(key)
    start_after = rng.uniform(0.05, 1.0) * service.start_max_seconds
    duration = max(60.0, quantity / service.speed_per_day * 86400) * rng.uniform(0.8, 1.2)
    start_count = rng.randint(0, 20_000)
    partial = rng.random() < PARTIAL_SHARE and quantity > 1 and not service.is_package
    remains = rng.randint(1, max(1, quantity // 2)) if partial else 0
    return Plan(timedelta(seconds=start_after), timedelta(seconds=duration), start_count, remains)


def order_build(
    *, account: Account, service: Service, key: str, quantity: int, at: datetime, **fields: object
) -> Order:
    """An unsaved order created at `at` whose timetable follows its seeded plan."""
    plan = order_plan(service=service, quantity=quantity, key=key)
    starts_at = at + clock.to_real(plan.start_after)
    return Order(
        account=account,
        service=service,
        plan_key=key,
        quantity=quantity,
        remains=quantity,
        created_at=at,
        starts_at=starts_at,
        finishes_at=starts_at + clock.to_real(plan.duration),
        planned_start_count=plan.start_count,
        planned_remains=plan.remains,
        **fields,
    )


def subscription_child(
    account: Account,
    service: Service,
    params: Mapping[str, object],
    key: str,
    at: datetime,
    *,
    old_post: bool,
) -> Order:
    """An unsaved order for one post processed by a subscription, of a seeded size in min..max."""
    quantity = seeded_rng(key).randint(params["min"], params["max"])
    return order_build(
        account=account,
        service=service,
        key=key,
        quantity=quantity,
        at=at,
        link=params["username"],
        old_post=old_post,
        charge=service_cost(service=service, quantity=quantity),
    )


# Moving orders along --------------------------------------------------------------------------


def orders_advance(*, orders: Iterable[Order]) -> None:
    """Advance each of `orders` (see `order_advance`)."""
    for order in orders:
        order_advance(order=order)


def order_advance(*, order: Order) -> Order:
    """Bring the stored state of `order` (and of its runs or posts) up to the sandbox clock."""
    if order.is_final:
        return order
    now = clock.now()
    if order.kind == OrderKind.DRIPFEED:
        _dripfeed_advance(order, now)
    elif order.kind == OrderKind.SUBSCRIPTION:
        _subscription_advance(order, now)
    elif now >= order.finishes_at:
        status = SandboxOrderStatus.PARTIAL if order.planned_remains else SandboxOrderStatus.COMPLETED
        order_finish(order=order, status=status, remains=order.planned_remains, at=order.finishes_at)
    elif now >= order.starts_at:
        target = order.quantity - order.planned_remains
        done = (now - order.starts_at) / (order.finishes_at - order.starts_at)
        _order_update(
            order,
            status=SandboxOrderStatus.IN_PROGRESS,
            start_count=order.planned_start_count,
            remains=order.quantity - int(target * done),
        )
    return order


def _order_update(order: Order, **fields: object) -> bool:
    updated = Order.objects.filter(pk=order.pk).exclude(status__in=FINAL_ORDER_STATUSES).update(**fields)
    if updated:
        for name, value in fields.items():
            setattr(order, name, value)
    else:
        order.refresh_from_db()
    return bool(updated)


def order_refund(*, order: Order, remains: int) -> Decimal:
    """The part of the charge JAP gives back when `remains` units are not delivered."""
    if order.kind != OrderKind.ORDER:
        return Decimal("0")
    if remains >= order.quantity:
        return order.charge
    return min(order.charge, service_cost(service=order.service, quantity=remains))


def order_finish(
    *, order: Order, status: str, remains: int, at: datetime, refund: Decimal | None = None
) -> bool:
    """Move `order` to a final status and credit its refund, exactly once; False if already final."""
    if refund is None:
        refund = (
            order_refund(order=order, remains=remains)
            if status != SandboxOrderStatus.COMPLETED
            else Decimal("0")
        )
    started = status != SandboxOrderStatus.CANCELED or remains < order.quantity
    with transaction.atomic():
        # The status filter is the guard: of two concurrent finishers only one row update happens.
        finished = _order_update(
            order,
            status=status,
            remains=remains,
            start_count=order.planned_start_count if started else order.start_count,
            charge=order.charge - refund,
            refunded=refund,
            finished_at=at,
        )
        if finished and refund:
            Account.objects.filter(pk=order.account_id).update(balance=F("balance") + refund)
    return finished


def _dripfeed_advance(parent: Order, now: datetime) -> None:
    while parent.progress < parent.runs:
        run_at = parent.created_at + clock.to_real(timedelta(minutes=parent.interval * parent.progress))
        if run_at > now:
            break
        with transaction.atomic():
            # Claim the run first so that concurrent readers never create it twice.
            claimed = Order.objects.filter(pk=parent.pk, progress=parent.progress).update(
                progress=F("progress") + 1, status=SandboxOrderStatus.IN_PROGRESS
            )
            if claimed:
                order_build(
                    account=parent.account,
                    service=parent.service,
                    key=f"{parent.plan_key}.r{parent.progress + 1}",
                    quantity=parent.quantity,
                    at=run_at,
                    parent=parent,
                    link=parent.link,
                    params=parent.params,
                    charge=service_cost(service=parent.service, quantity=parent.quantity),
                ).save()
        parent.refresh_from_db()
    children = list(parent.children.all())
    orders_advance(orders=children)
    if parent.progress == parent.runs and all(child.is_final for child in children):
        order_finish(order=parent, status=SandboxOrderStatus.COMPLETED, remains=0, at=now)


def _simulated_date(order: Order, moment: datetime) -> date:
    return (order.created_at + (moment - order.created_at) * clock.time_scale()).date()


def _subscription_advance(parent: Order, now: datetime) -> None:
    params = parent.params
    expiry = date.fromisoformat(params["expiry"]) if params["expiry"] else None
    while params["posts"] is None or parent.progress < params["posts"]:
        posted_at = parent.created_at + clock.to_real(
            timedelta(seconds=params["post_every"] * (parent.progress + 1))
        )
        process_at = posted_at + clock.to_real(timedelta(minutes=params["delay"]))
        if (expiry and _simulated_date(parent, posted_at) > expiry) or process_at > now:
            break
        number = parent.progress + 1
        child = subscription_child(
            parent.account, parent.service, params, f"{parent.plan_key}.p{number}", process_at, old_post=False
        )
        child.parent = parent
        with transaction.atomic():
            claimed = Order.objects.filter(pk=parent.pk, progress=parent.progress).update(
                progress=F("progress") + 1
            )
            paid = claimed and Account.objects.filter(pk=parent.account_id, balance__gte=child.charge).update(
                balance=F("balance") - child.charge
            )
            if claimed:
                if not paid:
                    # Like a panel whose customer ran dry: the post is skipped, nothing charged.
                    child.status, child.charge, child.finished_at = SandboxOrderStatus.CANCELED, 0, process_at
                child.save()
        parent.refresh_from_db()
    if params["posts"] is not None and parent.progress >= params["posts"]:
        order_finish(order=parent, status=SandboxOrderStatus.COMPLETED, remains=0, at=now)
    elif expiry and _simulated_date(parent, now) > expiry:
        order_finish(order=parent, status=SandboxOrderStatus.EXPIRED, remains=0, at=now)


def refills_advance(*, refills: Iterable[Refill]) -> None:
    """Bring refills up to the sandbox clock: Pending → In progress → Completed or Rejected."""
    now = clock.now()
    for refill in refills:
        if refill.is_final or now < refill.starts_at:
            continue
        status = refill.planned_status if now >= refill.finishes_at else RefillStatus.IN_PROGRESS
        Refill.objects.filter(pk=refill.pk).exclude(status__in=FINAL_REFILL_STATUSES).update(status=status)
        refill.refresh_from_db(fields=["status"])
