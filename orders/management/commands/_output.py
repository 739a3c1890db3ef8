"""What the order commands share: choosing the provider and printing an order as one JSON line."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from orders.models import Order, OrderStatus
from providers.models import Provider
from providers.services import ProviderNotFound, provider_choose

# Exit codes: 1 when an order was refused or may not have been placed, 2 for bad input.
EXIT_NOT_PLACED = 1
EXIT_BAD_INPUT = 2
NOT_PLACED = (OrderStatus.REJECTED, OrderStatus.UNCONFIRMED)


def bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_BAD_INPUT)


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
