"""Shared by the order services: money formatting, constants and errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser

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


# A provider's id (of a service, an order): ASCII digits that fit a bigint column. Not
# `str.isdigit()`, which is true of "²" and other digits that `int()` refuses.
PROVIDER_ID = re.compile(r"[0-9]{1,18}")


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


def sentence(text: str) -> str:
    """`text` as a sentence: a capital first letter and a full stop."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
