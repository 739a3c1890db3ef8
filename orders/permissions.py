"""Who may do what with one order: the per-order checks behind the order pages and actions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from jappanel.web.access import may
from orders.models import Order


def may_act_on(user: Any, order: Order, action: str = "act") -> bool:
    """Whether `user` may take `action` (view, act, resolve, approve) on `order`."""
    if action == "view":
        return may(user, "view_orders")
    if action == "resolve":
        return may(user, "resolve_order")
    if action == "approve":
        return may(user, "approve_order")
    return may(user, "act_on_any_order") or (may(user, "act_on_own_order") and order.user_id == user.pk)


def order_for(request: HttpRequest, code: str, action: str = "view") -> Order:
    """The order with `code` if the person may take `action` on it; 404 or PermissionDenied."""
    if not may(request.user, "view_orders"):
        raise PermissionDenied
    orders = Order.objects.select_related("service", "provider", "user", "campaign")
    order = get_object_or_404(orders, code=code.upper())
    if not may_act_on(request.user, order, action):
        raise PermissionDenied
    return order


def orders_for(request: HttpRequest, orders: Iterable[Order], action: str = "act") -> list[Order]:
    """All of `orders`, or PermissionDenied when the person may not take `action` on one of them."""
    orders = list(orders)
    if any(not may_act_on(request.user, order, action) for order in orders):
        raise PermissionDenied
    return orders
