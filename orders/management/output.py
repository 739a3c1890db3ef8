"""What the order commands share: choosing the provider, the person and the idempotency key,
turning a refusal into bad input, and sending orders now, each printed as one JSON line."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from orders.models import Order, OrderStatus
from orders.services.common import OrderInvalid
from orders.services.placing import SubmissionConflict
from orders.services.submitting import order_submit_now
from providers.models import Provider
from providers.services import ProviderNotFound, provider_choose

# Exit codes: 1 when an order was refused or may not have been placed, 2 for bad input.
EXIT_NOT_PLACED = 1
EXIT_BAD_INPUT = 2
NOT_PLACED = (OrderStatus.REJECTED, OrderStatus.UNCONFIRMED)
MAX_KEY = Order._meta.get_field("submission_token").max_length


def bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_BAD_INPUT)


def placing_arguments(parser: CommandParser, *, placed: str) -> None:
    """--provider, --user and --idempotency-key; `placed` names what is placed ("order", "orders")."""
    parser.add_argument("--provider", help="provider name (default: the only active one, JAP or Sandbox)")
    parser.add_argument("--user", help=f"the person the {placed} placed for (username)")
    key_argument(parser)


def placing_options(options: dict[str, Any]) -> tuple[Provider, Any, str]:
    """The provider, the person (or None) and the idempotency key the options name."""
    return (
        provider_named(options["provider"]),
        user_named(options["user"]),
        key_checked(options["idempotency_key"]),
    )


@contextmanager
def placing_refusals(key: str) -> Iterator[None]:
    """A refusal to place, as bad input: a key used for other content, or an order invalid."""
    try:
        yield
    except SubmissionConflict as exc:
        raise key_conflict(key, exc) from None
    except OrderInvalid as exc:
        raise bad_input(str(exc)) from None


def orders_send_now(orders: Iterable[tuple[Order, dict[str, Any]]], stdout: Any) -> None:
    """Send each order from this process and print it as one JSON line (with its extra fields);
    exit 1 when one was rejected or may not have been placed."""
    failed = False
    for order, extra in orders:
        sent = order_submit_now(order=order)
        failed |= sent.status in NOT_PLACED
        stdout.write(order_line(sent, **extra))
    if failed:
        raise SystemExit(EXIT_NOT_PLACED)


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
