"""Deciding on an order that waits for approval: approved → queued and sent, declined → final."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from orders.models import EventKind, Order, OrderStatus
from orders.services.common import OrderActionError, User
from orders.services.lifecycle import order_transition, orders_send_on_commit
from orders.services.policy import decision_refusal

REASON_MAX = 500


def _check_may_decide(order: Order, user: User) -> None:
    refusal = decision_refusal(user, order)
    if refusal:
        raise OrderActionError(refusal)


def _waiting_error(order: Order) -> OrderActionError:
    return OrderActionError(f"This order is {order.get_status_display().lower()}, not waiting for approval.")


def order_approve(*, order: Order, user: User, ip: str | None = None) -> Order:
    """Approve a waiting order: it becomes queued and is sent after commit like any other."""
    _check_may_decide(order, user)
    with transaction.atomic():
        if not order_transition(
            order,
            OrderStatus.QUEUED,
            kind=EventKind.APPROVED,
            allowed_from=[OrderStatus.AWAITING_APPROVAL],
            user=user,
        ):
            order.refresh_from_db()
            raise _waiting_error(order)
        audit_record(
            action=AuditAction.ORDER_APPROVED,
            actor=user,
            ip=ip,
            target=order,
            before={"status": OrderStatus.AWAITING_APPROVAL},
            after={"status": OrderStatus.QUEUED, "estimated_charge": str(order.estimated_charge)},
        )
        orders_send_on_commit([order.pk])
    return order


def order_decline(*, order: Order, user: User, reason: str, ip: str | None = None) -> Order:
    """Decline a waiting order with a reason the requester sees; it is never sent."""
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        raise OrderActionError("Say why the order is declined.")
    _check_may_decide(order, user)
    with transaction.atomic():
        if not order_transition(
            order,
            OrderStatus.DECLINED,
            kind=EventKind.DECLINED,
            allowed_from=[OrderStatus.AWAITING_APPROVAL],
            message=reason,
            user=user,
            decline_reason=reason,
            finished_at=timezone.now(),
        ):
            order.refresh_from_db()
            raise _waiting_error(order)
        audit_record(
            action=AuditAction.ORDER_DECLINED,
            actor=user,
            ip=ip,
            target=order,
            before={"status": OrderStatus.AWAITING_APPROVAL},
            after={"status": OrderStatus.DECLINED},
            note=reason,
        )
    return order
