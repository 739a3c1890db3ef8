"""Typed answers of the panel, parsed leniently (§1.10 of the protocol notes).

Panels drift between ints and numeric strings, omit fields and put errors inside lists; the
parsers here accept every drift seen in the wild and raise ValueError for anything else, which
the client turns into ProviderOutcomeUnknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

FINAL_ORDER_STATUSES = frozenset({"Completed", "Partial", "Canceled", "Cancelled", "Refunded"})
FINAL_REFILL_STATUSES = frozenset({"Completed", "Rejected"})
# A status is a word or two; a longer one is cut (on one line) rather than carried along.
STATUS_LENGTH = 50
# Ids are 64-bit everywhere (ours and the panels' databases): a larger one is no id.
MAX_ID = 2**63 - 1

_INTEGER = re.compile(r"-?[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str, length: int) -> str:
    """`text` on one line without control characters, cut to `length` characters (with …)."""
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= length else line[: length - 1] + "…"


def to_decimal(value: Any) -> Decimal:
    """A finite Decimal from a JSON number or numeric string (never via float)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def to_int(value: Any) -> int:
    """An int from a JSON int, an integral JSON number or a numeric string."""
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def to_id(value: Any) -> int:
    """A panel's id (of an order, a refill): a whole number from 1 to MAX_ID."""
    number = to_int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"expected an id, got {number}")
    return number


def to_optional_int(value: Any) -> int | None:
    # `start_count` is "" until the panel has read the starting count.
    if value is None or value == "":
        return None
    return to_int(value)


def to_optional_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return to_decimal(value)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "0", "false", "no", ""}:
        return value.strip().lower() in {"1", "true", "yes"}
    raise ValueError(f"expected a boolean, got {value!r}")


def to_id_list(value: Any) -> tuple[int, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, list):
        raise ValueError(f"expected a list of ids, got {value!r}")
    return tuple(to_id(item) for item in value)


def error_of(value: Any) -> str | None:
    """The panel's sentence when `value` is an `{"error": ...}` object, else None."""
    if isinstance(value, dict) and "error" in value:
        return str(value["error"])
    return None


def _require_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected {what} as a JSON object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class ItemError:
    """A per-item error inside a multi answer (`{"error": "Incorrect order ID"}`)."""

    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ServiceInfo:
    """One entry of `services`; `rate` is the price per 1000 in the account currency."""

    id: int
    name: str
    type: str
    category: str
    rate: Decimal
    min: int
    max: int
    dripfeed: bool = False
    refill: bool = False
    cancel: bool = False
    # The panel's record as received, for fields we do not model (descriptions, ...).
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> ServiceInfo:
        """Parse one entry; ValueError for an entry that cannot be a service (no name, a negative
        rate or limit, a minimum above the maximum), which `services()` skips with the reason."""
        data = _require_dict(data, "a service")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("the service has no name")
        service = cls(
            id=to_int(data.get("service")),
            name=name,
            type=str(data.get("type") or "Default"),
            category=str(data.get("category") or ""),
            rate=to_decimal(data.get("rate")),
            min=to_int(data.get("min")),
            max=to_int(data.get("max")),
            dripfeed=to_bool(data.get("dripfeed", False)),
            refill=to_bool(data.get("refill", False)),
            cancel=to_bool(data.get("cancel", False)),
            raw=dict(data),
        )
        if service.id < 1:
            raise ValueError(f"the service id {service.id} is not a positive number")
        if service.rate < 0:
            raise ValueError(f"the rate {service.rate} is negative")
        if service.min < 0 or service.max < 0:
            raise ValueError(f"the limits {service.min}–{service.max} are negative")
        if service.min > service.max:
            raise ValueError(f"the minimum {service.min:,} is above the maximum {service.max:,}")
        return service


@dataclass(frozen=True)
class ServicesResult:
    """The parsed catalogue; malformed entries are skipped and described in `skipped`."""

    services: tuple[ServiceInfo, ...]
    skipped: tuple[str, ...] = ()

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)


@dataclass(frozen=True)
class ProviderOrderStatus:
    """The state of one order.

    A plain order carries charge/start_count/remains/currency. A drip-feed parent carries
    `runs` and the child `orders`; a subscription parent carries `posts`, `expiry`, `orders`
    and `old_orders` (and usually no charge).
    """

    status: str
    charge: Decimal | None = None
    start_count: int | None = None
    remains: int | None = None
    currency: str = ""
    runs: int | None = None
    orders: tuple[int, ...] = ()
    old_orders: tuple[int, ...] = ()
    posts: int | None = None
    expiry: str = ""
    # Fields of the answer that were not numbers (or lists of ids) where numbers belong: each is
    # left empty and said here, and the rest of the answer still counts.
    problems: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        # Status strings are open-ended across panels: anything unknown is still moving.
        return self.status in FINAL_ORDER_STATUSES

    @classmethod
    def from_json(cls, data: Any) -> ProviderOrderStatus:
        data = _require_dict(data, "an order status")
        if "status" not in data or not isinstance(data["status"], str):
            raise ValueError("the order status has no `status` string")
        problems: list[str] = []

        def lenient(name: str, convert: Any, empty: Any = None) -> Any:
            try:
                return convert(data.get(name))
            except ValueError:
                problems.append(
                    f"the {name.replace('_', ' ')} {one_line(repr(data.get(name)), 40)} is not valid"
                )
                return empty

        return cls(
            # Some panels answer "" right after `add`, before the order is queued.
            status=one_line(data["status"], STATUS_LENGTH) or "Pending",
            charge=lenient("charge", to_optional_decimal),
            start_count=lenient("start_count", to_optional_int),
            remains=lenient("remains", to_optional_int),
            currency=one_line(str(data.get("currency") or ""), STATUS_LENGTH),
            runs=lenient("runs", to_optional_int),
            orders=lenient("orders", to_id_list, ()),
            old_orders=lenient("old_orders", to_id_list, ()),
            posts=lenient("posts", to_optional_int),
            expiry=one_line(str(data.get("expiry") or ""), STATUS_LENGTH),
            problems=tuple(problems),
        )


@dataclass(frozen=True)
class Balance:
    """The account balance as the panel reports it."""

    amount: Decimal
    currency: str

    @classmethod
    def from_json(cls, data: Any) -> Balance:
        data = _require_dict(data, "the balance")
        currency = data.get("currency")
        if not isinstance(currency, str) or not currency.strip():
            raise ValueError("the balance has no currency")
        return cls(amount=to_decimal(data.get("balance")), currency=currency.strip())
