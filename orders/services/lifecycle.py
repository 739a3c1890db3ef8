"""An order's life, step by step: its events, its status moves (each one a claim) and its sending.

Every stage (placing, submitting, tracking, actions, approvals) records and moves orders only
through these helpers, so that a move is always conditional and always leaves its event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from jappanel.events import Occurrence, announce
from orders.models import Order, OrderEvent
from orders.services.common import User


def person_or_none(user: User | None) -> User | None:
    """The signed-in person behind `user`, or None for the system and anonymous requests."""
    return user if user is not None and user.is_authenticated else None


def order_event(
    order: Order,
    kind: str,
    message: str = "",
    *,
    from_status: str = "",
    to_status: str = "",
    user: User | None = None,
    at: datetime | None = None,
) -> OrderEvent:
    """An event of `order` (not saved): by default it stays in its present status."""
    return OrderEvent(
        order=order,
        at=at or timezone.now(),
        kind=kind,
        from_status=from_status or order.status,
        to_status=to_status or order.status,
        message=message,
        user=person_or_none(user),
    )


def order_transition(
    order: Order,
    to: str,
    *,
    kind: str,
    allowed_from: Iterable[str],
    message: str = "",
    user: User | None = None,
    **updates: Any,
) -> bool:
    """Move `order` to `to` if it is still in one of `allowed_from`, with its event; True if it moved.

    The conditional UPDATE is the claim: of two processes racing on one order, one wins.
    """
    now = timezone.now()
    previous = order.status
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, status__in=list(allowed_from)).update(
            status=to, status_changed_at=now, **updates
        )
        if moved:
            for name, value in updates.items():
                setattr(order, name, value)
            order.status, order.status_changed_at = to, now
            order_event(order, kind, message, from_status=previous, to_status=to, user=user, at=now).save()
            announce(
                [
                    Occurrence(
                        "order.moved",
                        f"order:{order.pk}:{to}",
                        {"order_id": order.pk, "to": to, "event": kind},
                    )
                ]
            )
    return bool(moved)


def orders_send_on_commit(order_ids: Iterable[int]) -> None:
    """Once the transaction in progress commits, start one task to send them (several at a time).

    A task only claims a queued order (`order_submit`), so sending twice is harmless.
    """
    ids = list(order_ids)
    if ids:
        transaction.on_commit(lambda: _enqueue(ids), robust=True)


def _enqueue(order_ids: list[int]) -> None:
    # Imported here: the tasks module imports the services.
    from orders.tasks import submit_orders

    submit_orders.delay(order_ids)
