"""The sandbox behind the JAP wire format (`providers.wire`): one account's view of the panel."""

from __future__ import annotations

from decimal import Decimal

from providers.sandbox import services
from providers.sandbox.models import Account, Order, OrderKind, Service
from providers.sandbox.services import SandboxError
from providers.wire import (
    INCORRECT_ORDER,
    Params,
    WireError,
    status_shape,
)
from providers.wire import request_params as request_params  # where tests and benches read it
from providers.wire import (
    service_shape as wire_service_shape,
)


def service_shape(service: Service) -> dict[str, object]:
    """One `services` item, live-JAP style."""
    return wire_service_shape(
        service=service.id,
        name=service.name,
        type=service.type,
        rate_per_1000=service.rate,
        min=service.min,
        max=service.max,
        dripfeed=service.dripfeed,
        refill=service.refill,
        cancel=service.cancel,
        category=service.category,
    )


def order_shape(order: Order) -> dict[str, object]:
    """The `status` answer for one order, drip-feed parent or subscription parent."""
    if order.kind == OrderKind.DRIPFEED:
        return {
            "status": order.status,
            "runs": str(order.runs),
            "orders": [str(child.pk) for child in services.order_children(order=order)],
        }
    if order.kind == OrderKind.SUBSCRIPTION:
        children = services.order_children(order=order)
        return {
            "status": order.status,
            "expiry": order.params["expiry"],
            "posts": str(order.progress),
            "orders": [str(child.pk) for child in children if not child.old_post],
            "old_orders": [str(child.pk) for child in children if child.old_post],
        }
    return status_shape(
        charge=order.charge,
        start_count=order.start_count,
        status=order.status,
        remains=order.remains,
        currency=order.account.currency,
    )


class SandboxBackend:
    """What one sandbox account sees and does (`providers.wire.Backend`)."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def services(self) -> list[dict[str, object]]:
        return [service_shape(service) for service in services.service_list()]

    def add(self, params: Params) -> int:
        return services.order_add(account=self.account, params=params).pk

    def statuses(self, ids: list[str]) -> dict[str, dict[str, object] | None]:
        found = services.orders_get(account=self.account, ids=ids)
        return {raw: order_shape(order) if order else None for raw, order in found.items()}

    def refill(self, raw_id: str) -> int:
        return services.refill_create(order=services.order_get(account=self.account, raw_id=raw_id)).pk

    def refills(self, ids: list[str]) -> dict[str, int | WireError]:
        answers: dict[str, int | WireError] = {}
        for raw in ids:
            try:
                answers[raw] = self.refill(raw)
            except SandboxError as error:
                answers[raw] = error
        return answers

    def refill_statuses(self, ids: list[str]) -> dict[str, str | None]:
        found = services.refills_get(account=self.account, ids=ids)
        return {raw: refill.status if refill else None for raw, refill in found.items()}

    def cancel(self, ids: list[str]) -> dict[str, WireError | None]:
        answers: dict[str, WireError | None] = {}
        for raw, order in services.orders_get(account=self.account, ids=ids).items():
            try:
                if order is None:
                    raise SandboxError(INCORRECT_ORDER)
                services.order_cancel(order=order)
                answers[raw] = None
            except SandboxError as error:
                answers[raw] = error
        return answers

    def balance(self) -> tuple[Decimal, str]:
        account = services.account_balance(account=self.account)
        return account.balance, account.currency
