"""Shared by the order services: money formatting, constants, errors and event recording."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from orders.models import (
    Order,
    OrderEvent,
)

logger = logging.getLogger(__name__)

User = AbstractBaseUser
ZERO = Decimal("0")
CENT = Decimal("0.01")
ACCURACY = Decimal("0.00001")
BATCH = 100  # ids per multi call, and orders per polling task
PACKAGE_TYPES = frozenset({"Package", "Custom Comments Package"})
# Types whose quantity is the number of lines of one field.
LINE_COUNTED = {
    "Custom Comments": "comments",
    "Custom Comments Package": "comments",
    "Comment Replies": "comments",
    "Mentions Custom List": "usernames",
}
# Poll young orders often and old ones rarely: (age below, check again after).
POLL_STEPS = (
    (timedelta(minutes=10), timedelta(minutes=1)),
    (timedelta(hours=1), timedelta(minutes=2)),
    (timedelta(hours=6), timedelta(minutes=5)),
    (timedelta(hours=24), timedelta(minutes=15)),
)
REFILL_CHECK_EVERY = timedelta(minutes=5)
STUCK_MESSAGE = (
    "The worker stopped while the order was being sent; the panel may have taken it. "
    "Check the provider's order list, then resolve it."
)


class OrderInvalid(Exception):
    """The order cannot be queued; `errors` maps a field name (or `__all__`) to a sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(
            "; ".join(f"{name}: {text}" if name != "__all__" else text for name, text in errors.items())
        )


class OrderActionError(Exception):
    """An action that does not apply to the order in its present state."""


def money(amount: Decimal, currency: str = "USD") -> str:
    """`$12.40`, `$0.0015`, `12.40 EUR`: cents always, more places only when they matter."""
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    text = f"{cents}" if cents == amount else f"{amount.normalize():f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _event(
    order: Order,
    kind: str,
    message: str = "",
    *,
    from_status: str = "",
    to_status: str = "",
    user: User | None = None,
    at: datetime | None = None,
) -> OrderEvent:
    return OrderEvent(
        order=order,
        at=at or timezone.now(),
        kind=kind,
        from_status=from_status or order.status,
        to_status=to_status or order.status,
        message=message,
        user=_person(user),
    )


def _transition(
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
            _event(order, kind, message, from_status=previous, to_status=to, user=user, at=now).save()
    return bool(moved)


def _person(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None
