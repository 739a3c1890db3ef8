"""Deciding on an order that waits for approval: approved → queued and sent, declined → final."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from jappanel.web.access import may
from orders.models import EventKind, Order, OrderStatus
from orders.services.common import OrderActionError, User
from orders.services.lifecycle import order_transition, orders_send_on_commit
from orders.services.policy import decision_refusal, requesters_barred_for

REASON_MAX = 500
# A decision → the order's event and the audit log's action.
DECISIONS = {
    OrderStatus.QUEUED: (EventKind.APPROVED, AuditAction.ORDER_APPROVED),
    OrderStatus.DECLINED: (EventKind.DECLINED, AuditAction.ORDER_DECLINED),
}


def _check_may_decide(order: Order, user: User) -> None:
    refusal = decision_refusal(user, order)
    if refusal:
        raise OrderActionError(refusal)


def _waiting_error(order: Order) -> OrderActionError:
    return OrderActionError(f"This order is {order.get_status_display().lower()}, not waiting for approval.")


def _decide(
    order: Order,
    user: User,
    ip: str | None,
    *,
    to: OrderStatus,
    after: dict[str, object],
    note: str = "",
    **fields: object,
) -> None:
    """Move a waiting order to `to` (queued or declined) and audit it; refused if it no longer waits."""
    kind, action = DECISIONS[to]
    _check_may_decide(order, user)
    with transaction.atomic():
        if not order_transition(
            order, to, kind=kind, allowed_from=[OrderStatus.AWAITING_APPROVAL], user=user, **fields
        ):
            order.refresh_from_db()
            raise _waiting_error(order)
        audit_record(
            action=action,
            actor=user,
            ip=ip,
            target=order,
            before={"status": OrderStatus.AWAITING_APPROVAL},
            after={"status": to, **after},
            note=note,
        )
        if to == OrderStatus.QUEUED:
            orders_send_on_commit([order.pk])


def order_approve(*, order: Order, user: User, ip: str | None = None) -> Order:
    """Approve a waiting order: it becomes queued and is sent after commit like any other."""
    _decide(order, user, ip, to=OrderStatus.QUEUED, after={"estimated_charge": str(order.estimated_charge)})
    return order


def order_decline(*, order: Order, user: User, reason: str, ip: str | None = None) -> Order:
    """Decline a waiting order with a reason the requester sees; it is never sent."""
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        raise OrderActionError("Say why the order is declined.")
    _decide(
        order,
        user,
        ip,
        to=OrderStatus.DECLINED,
        after={},
        note=reason,
        message=reason,
        decline_reason=reason,
        finished_at=timezone.now(),
    )
    return order


def orders_decide(
    *, orders: list[Order], user: User, approve: bool, reason: str = "", ip: str | None = None
) -> list[Order]:
    """Approve (or decline, with one reason for all) each of `orders` that waits for a decision
    `user` may take: a mass order's lines in one go. Returns those decided; the others (not
    waiting, or one the person may not decide on) are left as they are."""
    if not approve and not reason.strip():
        raise OrderActionError("Say why the orders are declined.")
    if not may(user, "approve_order"):
        raise OrderActionError("You may not approve or decline orders.")
    barred = requesters_barred_for(user)
    decided = []
    for order in orders:
        if order.status != OrderStatus.AWAITING_APPROVAL or order.user_id in barred:
            continue
        try:
            if approve:
                decided.append(order_approve(order=order, user=user, ip=ip))
            else:
                decided.append(order_decline(order=order, user=user, reason=reason, ip=ip))
        except OrderActionError:
            continue  # decided by someone else meanwhile
    return decided
