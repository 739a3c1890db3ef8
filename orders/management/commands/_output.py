"""What the order commands share: choosing the provider and printing an order as one JSON line."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from orders.models import Order, OrderStatus
from orders.services import SubmissionConflict
from providers.models import Provider
from providers.services import ProviderNotFound, provider_choose

# Exit codes: 1 when an order was refused or may not have been placed, 2 for bad input.
EXIT_NOT_PLACED = 1
EXIT_BAD_INPUT = 2
NOT_PLACED = (OrderStatus.REJECTED, OrderStatus.UNCONFIRMED)
MAX_KEY = Order._meta.get_field("submission_token").max_length


def bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_BAD_INPUT)


def key_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--idempotency-key",
        default="",
        metavar="KEY",
        help="run again with the same key and content: the orders placed the first time are printed, "
        "nothing is bought twice (a script's retry after a crash); other content with the key is refused",
    )


def key_checked(key: str) -> str:
    """The command's idempotency key, or a new random one; bad input when it cannot be one."""
    if len(key) > MAX_KEY or not key.isprintable() or " " in key:
        raise bad_input(f"--idempotency-key: at most {MAX_KEY} characters, without spaces")
    return key or secrets.token_urlsafe(24)


def key_conflict(key: str, exc: SubmissionConflict) -> CommandError:
    count = f"{len(exc.orders)} order{'s' if len(exc.orders) != 1 else ''}"
    codes = ", ".join(order.code for order in exc.orders)
    return bad_input(
        f"--idempotency-key {key} already placed {count} ({codes}) with other content: "
        "nothing more was placed; use a new key to place these"
    )


def read_text(source: str | Path | TextIO, *, limit: int, what: str) -> str:
    """A file's text (or a stream's), read no further than `limit` characters; bad input when it
    is longer, unreadable or not UTF-8."""
    name = getattr(source, "name", str(source))
    try:
        if isinstance(source, str | Path):
            with open(source, encoding="utf-8") as stream:
                text = stream.read(limit + 1)
        else:
            text = source.read(limit + 1)
    except OSError as exc:
        raise bad_input(f"{name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise bad_input(f"{name}: not UTF-8 text") from None
    if len(text) > limit:
        raise bad_input(f"{name}: {what} is at most {limit:,} characters; split it")
    return text


def provider_named(name: str | None) -> Provider:
    try:
        return provider_choose(name=name)
    except ProviderNotFound as exc:
        raise bad_input(str(exc)) from None


def user_named(username: str | None) -> Any:
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise bad_input(f"unknown user {username!r}")
    return user


def order_line(order: Order, **extra: Any) -> str:
    """`{"code", "status", "provider_order_id", "charge", "error"}`: the charge is the provider's
    when known, else the estimate."""
    charge = order.charge if order.charge is not None else order.estimated_charge
    data = {
        **extra,
        "code": order.code,
        "status": order.status,
        "provider_order_id": order.provider_order_id,
        "charge": str(charge),
        "error": order.last_error,
    }
    return json.dumps(data, ensure_ascii=False)
