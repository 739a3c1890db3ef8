"""One open order per link and service: an order waits behind an earlier one on the same link.

Panels refuse (or take and under-deliver) a second order on a link with an active order for
the same service. So before an order is sent, the open orders of the same service whose link
has the same key (orders.links.link_normalise) are looked at: if one is ahead of it, the order
is not sent but moved to `waiting_for_link`, and it is queued again, one at a time, when the
last order ahead of it is final.

Ahead of an order: an open order on its link that was sent (or is being sent, or may have
been), or one placed before it (a lower id) that waits to be sent. Every decision on one link
is taken under one lock (an advisory lock on PostgreSQL; SQLite's write lock), so two orders
on one link never both go, and two waiting orders go one after the other.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from orders.links import link_normalise
from orders.models import LINK_OPEN_STATUSES, EventKind, Order, OrderStatus
from orders.services.common import OrderActionError, User
from orders.services.lifecycle import order_transition, orders_send_on_commit

# The panel's answer to a second order on a link with an active one (JAP's words, lowercased).
ACTIVE_ORDER_SENTENCES = ("active order with this link",)
# Open orders that were sent, are being sent or may have been: always ahead of a new one.
SENT_STATUSES = LINK_OPEN_STATUSES - {OrderStatus.QUEUED, OrderStatus.WAITING_FOR_LINK}
MAX_RELEASE_KEYS = 1000


def is_active_order_refusal(message: str) -> bool:
    """Whether the panel refused an `add` because the link has an active order."""
    text = message.lower()
    return any(sentence in text for sentence in ACTIVE_ORDER_SENTENCES)


def _lock(service_id: int, link_key: str) -> None:
    """Serialise the decisions on one link of one service until the transaction ends."""
    if connection.vendor != "postgresql":
        return  # SQLite transactions start with BEGIN IMMEDIATE: one writer at a time.
    digest = hashlib.blake2b(f"{service_id}:{link_key}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


def orders_ahead(order: Order) -> QuerySet[Order]:
    """The open orders ahead of `order` on its link and service, earliest first."""
    if not order.link_key:
        return Order.objects.none()
    return (
        Order.objects.filter(
            service_id=order.service_id, link_key=order.link_key, status__in=sorted(LINK_OPEN_STATUSES)
        )
        .exclude(pk=order.pk)
        .filter(Q(status__in=sorted(SENT_STATUSES)) | Q(pk__lt=order.pk))
        .order_by("pk")
    )


def order_waits_behind(order: Order) -> Order | None:
    """The order `order` waits behind (the earliest ahead of it), if it waits."""
    if order.status != OrderStatus.WAITING_FOR_LINK:
        return None
    return orders_ahead(order).first()


def order_claim(order_id: int, *, updates: dict[str, object]) -> bool:
    """Claim a queued order for sending (`updates` set it `submitting`), unless an order is ahead
    of it on its link: then it moves to `waiting_for_link`. True when claimed."""
    order = Order.objects.filter(pk=order_id, status=OrderStatus.QUEUED).first()
    if order is None:
        return False
    with transaction.atomic():
        if order.link_key:
            _lock(order.service_id, order.link_key)
            ahead = orders_ahead(order).first()
            if ahead is not None:
                order_transition(
                    order,
                    OrderStatus.WAITING_FOR_LINK,
                    kind=EventKind.LINK_WAIT,
                    allowed_from=[OrderStatus.QUEUED],
                    message=f"Waits behind {ahead.code} ({ahead.get_status_display().lower()}) on this link",
                )
                return False
        return bool(Order.objects.filter(pk=order_id, status=OrderStatus.QUEUED).update(**updates))


def order_back_to_waiting(order: Order, message: str) -> bool:
    """The panel refused a sent order because its link has an active order: nothing was taken,
    so the order waits again (never rejected), and goes when no order of ours is ahead of it."""
    return order_transition(
        order,
        OrderStatus.WAITING_FOR_LINK,
        kind=EventKind.LINK_WAIT,
        allowed_from=[OrderStatus.SUBMITTING],
        message=f"The panel answered: {message} Waits until the link is free.",
        last_error=message,
    )


def _release_next(service_id: int, link_key: str, message: str) -> bool:
    """Queue the earliest waiting order on a link if nothing is ahead of it; True if one went."""
    with transaction.atomic():
        _lock(service_id, link_key)
        first = (
            Order.objects.filter(
                service_id=service_id, link_key=link_key, status=OrderStatus.WAITING_FOR_LINK
            )
            .order_by("pk")
            .first()
        )
        if first is None or orders_ahead(first).exists():
            return False
        moved = order_transition(
            first,
            OrderStatus.QUEUED,
            kind=EventKind.LINK_FREE,
            allowed_from=[OrderStatus.WAITING_FOR_LINK],
            message=message,
        )
        if moved:
            orders_send_on_commit([first.pk])
    return moved


def orders_release_behind(*, order_ids: Iterable[int]) -> int:
    """The given orders became final (or stopped waiting): send the next order waiting on each of
    their links, if nothing else is ahead of it. Returns how many were queued again."""
    ids = list(order_ids)
    if not ids:
        return 0
    finished = {
        (service_id, key): (code, status)
        for service_id, key, code, status in Order.objects.filter(pk__in=ids)
        .exclude(link_key="")
        .values_list("service_id", "link_key", "code", "status")
    }
    if not finished:
        return 0
    waiting = set(
        Order.objects.filter(
            status=OrderStatus.WAITING_FOR_LINK,
            service_id__in={service for service, _ in finished},
            link_key__in={key for _, key in finished},
        ).values_list("service_id", "link_key")
    )
    released = 0
    for service_id, key in sorted(waiting & finished.keys()):
        code, status = finished[service_id, key]
        label = OrderStatus(status).label.lower()
        released += _release_next(service_id, key, f"{code} is {label}: the link is free, sending")
    return released


def orders_release_stale(*, before: datetime) -> int:
    """Queue again waiting orders that waited since before `before` with nothing of ours ahead:
    a missed release, or a panel that said the link was busy with an order not ours."""
    keys = list(
        Order.objects.filter(status=OrderStatus.WAITING_FOR_LINK, status_changed_at__lt=before)
        .values_list("service_id", "link_key")
        .order_by("service_id", "link_key")  # not the model's ordering: it would defeat DISTINCT
        .distinct()[:MAX_RELEASE_KEYS]
    )
    return sum(
        _release_next(service_id, key, "Nothing of ours is ahead on this link: sending")
        for service_id, key in keys
    )


def order_stop_waiting(*, order: Order, user: User | None, ip: str | None = None) -> Order:
    """A person cancels an order waiting for its link: nothing was sent, nothing is charged."""
    with transaction.atomic():
        if not order_transition(
            order,
            OrderStatus.CANCELED,
            kind=EventKind.CANCEL,
            allowed_from=[OrderStatus.WAITING_FOR_LINK],
            message="Canceled while waiting for the link: nothing was sent, nothing is charged.",
            user=user,
            finished_at=timezone.now(),
        ):
            order.refresh_from_db()
            raise OrderActionError(
                f"This order is {order.get_status_display().lower()}: only an order waiting for its "
                "link can be canceled here."
            )
        audit_record(
            action=AuditAction.ORDER_CANCEL,
            actor=user,
            ip=ip,
            target=order,
            before={"status": OrderStatus.WAITING_FOR_LINK},
            after={"status": OrderStatus.CANCELED, "sent": False},
        )
    orders_release_behind(order_ids=[order.pk])
    return order


def orders_stop_waiting(*, orders: Iterable[Order], user: User | None, ip: str | None = None) -> list[Order]:
    """`order_stop_waiting` for each of `orders` waiting for its link, the part of a bulk cancel
    that never reached the provider; one sent meanwhile is left to the provider's cancel."""
    stopped = []
    for order in orders:
        if order.can_stop_waiting():
            with contextlib.suppress(OrderActionError):
                stopped.append(order_stop_waiting(order=order, user=user, ip=ip))
    return stopped


def open_order_on_link(*, service_id: int, link: str) -> Order | None:
    """The earliest open order of ours on `link` (normalised) for the service, if any: a new
    order there would wait behind it."""
    key = link_normalise(link)
    if not key:
        return None
    return (
        Order.objects.filter(service_id=service_id, link_key=key, status__in=sorted(LINK_OPEN_STATUSES))
        .order_by("pk")
        .first()
    )


def lines_waiting(lines: Sequence[tuple[int, str]]) -> list[bool]:
    """For lines to be placed, each a (service id, link), whether it will wait behind an open
    order: one already open on its link and service, or an earlier line of the same lines."""
    keys = [(service_id, link_normalise(link)) for service_id, link in lines]
    wanted = {key for key in keys if key[1]}
    open_now: set[tuple[int, str]] = set()
    if wanted:
        open_now = set(
            Order.objects.filter(
                status__in=sorted(LINK_OPEN_STATUSES),
                service_id__in={service for service, _ in wanted},
                link_key__in={key for _, key in wanted},
            ).values_list("service_id", "link_key")
        )
    seen: set[tuple[int, str]] = set()
    result = []
    for key in keys:
        result.append(bool(key[1]) and (key in open_now or key in seen))
        seen.add(key)
    return result
