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
from team.models import CredentialsSetBy

REASON_MAX = 500


def requesters_barred_for(user: User) -> set[int]:
    """Whose orders `user` may not approve or decline: the four-eyes rule, decided here only.

    Their own (a second pair of eyes is the point; superusers excepted, for a team of one), and
    those of whoever set their password (who may know it and sign in as them) or gave them their
    role (until they set a password of their own): see team.models.CredentialsSetBy.
    """
    barred = set() if user.is_superuser else {user.pk}
    setters = CredentialsSetBy.objects.filter(person_id=user.pk).values_list("password_by", "role_by").first()
    return barred | {pk for pk in setters or () if pk is not None}


def decision_refusal(user: User, order: Order) -> str | None:
    """Why `user` may not approve or decline `order`, in a sentence; None when they may."""
    if not may(user, "approve_order"):
        return "You may not approve or decline orders."
    if order.user_id not in requesters_barred_for(user):
        return None
    if order.user_id == user.pk:
        return "Nobody decides on their own order: ask another approver."
    return (
        f"{order.user.get_username()} set your password or your role, so you cannot decide on their "
        "orders: ask another approver."
    )


def may_decide(user: User, order: Order) -> bool:
    return decision_refusal(user, order) is None


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
