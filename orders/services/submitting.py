"""Sending a queued order to its panel once, and what happens when the answer is unclear."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from jappanel.logging import log_context
from orders.models import (
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
)
from orders.services.common import POLL_STEPS, STUCK_MESSAGE, OrderActionError, User
from orders.services.lifecycle import order_event, order_transition, orders_send_on_commit
from orders.services.links import (
    is_active_order_refusal,
    order_back_to_waiting,
    order_claim,
    orders_release_behind,
    orders_release_stale,
)
from providers.client import (
    OrderFieldError,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnreachable,
)
from providers.crypto import ApiKeyDecryptionError
from providers.models import Provider
from providers.pace import fan_out
from providers.services import BALANCE_EVERY, provider_balance_read_soon
from providers.tasks import read_balance_soon

logger = logging.getLogger(__name__)


def submit_backoff(attempts: int) -> float:
    """Seconds before sending again after `attempts` unreachable tries: doubling, with jitter.

    Capped under the broker's visibility timeout: a task delayed beyond it is delivered twice.
    """
    base = settings.ORDERS_SUBMIT_BACKOFF_SECONDS
    delay = base * 2 ** max(attempts - 1, 0) + random.uniform(0, base)
    return min(delay, max_countdown())


def max_countdown() -> float:
    """The longest a task may be scheduled ahead (a minute under the broker's visibility timeout)."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    return max(visibility - 60, 0)


def order_submit(*, order_id: int) -> Order | None:
    """Send one queued order to its panel, once; None when another process claimed it first.

    The outcome decides the status: accepted → pending; `ProviderRejected` → rejected;
    `ProviderUnreachable` → queued again (the caller retries) until ORDERS_SUBMIT_ATTEMPTS,
    then rejected; `ProviderOutcomeUnknown` → unconfirmed, never sent again by itself.
    An order with an open order of ours ahead of it on its link is not sent: it waits
    (`waiting_for_link`, see orders.services.links), and so does one the panel refuses with
    its active-order sentence.
    """
    claimed = order_claim(
        order_id,
        updates={
            "status": OrderStatus.SUBMITTING,
            "status_changed_at": timezone.now(),
            "submit_attempts": F("submit_attempts") + 1,
        },
    )
    if not claimed:
        return None
    order = Order.objects.select_related("provider", "service").get(pk=order_id)
    with log_context(order_code=order.code):
        return _send(order)


def _send(order: Order) -> Order:
    """Call `add` for a claimed order (outside any transaction) and record the outcome."""
    OrderEvent.objects.create(
        order=order,
        kind=EventKind.SUBMITTING,
        from_status=OrderStatus.QUEUED,
        to_status=OrderStatus.SUBMITTING,
        message=f"Attempt {order.submit_attempts}",
    )
    try:
        with order.provider.client() as client:
            provider_order_id = client.add(order.service.service_id, **order.add_fields())
    except ProviderUnreachable as exc:
        _submit_unreachable(order, exc)
        return order
    except ProviderRejected as exc:
        # Nothing was charged: the panel said no.
        if is_active_order_refusal(exc.message):
            order_back_to_waiting(order, exc.message)
            return order
        _reject(order, str(exc))
    except (OrderFieldError, ApiKeyDecryptionError) as exc:
        # Nothing was sent at all.
        _reject(order, str(exc))
    except ProviderOutcomeUnknown as exc:
        logger.warning("order unconfirmed: the panel may have taken it: %s", exc)
        order_transition(
            order,
            OrderStatus.UNCONFIRMED,
            kind=EventKind.UNCONFIRMED,
            allowed_from=[OrderStatus.SUBMITTING],
            message=str(exc),
            last_error=str(exc),
            needs_attention=True,
        )
        return order
    else:
        _accept(order, provider_order_id)
    return order


def _reject(order: Order, message: str) -> None:
    if order_transition(
        order,
        OrderStatus.REJECTED,
        kind=EventKind.REJECTED,
        allowed_from=[OrderStatus.SUBMITTING],
        message=message,
        last_error=message,
        finished_at=timezone.now(),
    ):
        orders_release_behind(order_ids=[order.pk])


def _submit_unreachable(order: Order, exc: ProviderUnreachable) -> None:
    if isinstance(exc, ProviderRateLimited):
        # The panel did nothing and will take it later: not an attempt that failed.
        message, fields = f"{exc} (sent again later)", {"submit_attempts": order.submit_attempts - 1}
    elif order.submit_attempts < settings.ORDERS_SUBMIT_ATTEMPTS:
        message = f"{exc} (attempt {order.submit_attempts} of {settings.ORDERS_SUBMIT_ATTEMPTS})"
        fields = {}
    else:
        _reject(order, f"Not sent after {order.submit_attempts} attempts: {exc}")
        return
    order_transition(
        order,
        OrderStatus.QUEUED,
        kind=EventKind.RETRY,
        allowed_from=[OrderStatus.SUBMITTING],
        message=message,
        last_error=str(exc),
        **fields,
    )


def _accept(order: Order, provider_order_id: int) -> None:
    now = timezone.now()
    accepted = order_transition(
        order,
        OrderStatus.PENDING,
        kind=EventKind.ACCEPTED,
        # A sweeper may have given up on a slow answer meanwhile: the answer still wins.
        allowed_from=[OrderStatus.SUBMITTING, OrderStatus.UNCONFIRMED],
        message=f"Provider order #{provider_order_id}",
        provider_order_id=provider_order_id,
        provider_status="Pending",
        submitted_at=now,
        next_check_at=now + POLL_STEPS[0][1],
        last_error="",
        needs_attention=False,
    )
    if accepted:
        with log_context(provider_order_id=provider_order_id):
            logger.info("order accepted by %s", order.provider.name)
        audit_record(
            action=AuditAction.ORDER_SENT,
            target=order,
            before={"status": OrderStatus.SUBMITTING},
            after={"status": order.status, "provider_order_id": provider_order_id},
        )
    else:
        order.refresh_from_db()
        message = f"The provider accepted it as #{provider_order_id} after it was marked {order.status}."
        Order.objects.filter(pk=order.pk).update(needs_attention=True, last_error=message)
        order_event(order, EventKind.ERROR, message).save()


def orders_submit(*, order_ids: Sequence[int], until: float | None = None) -> list[Order]:
    """Send queued orders, each once, PROVIDER_MAX_CONCURRENCY at a time per provider (the
    provider's pace holds the bound across processes), reading each provider's balance every
    BALANCE_EVERY while they go and once at the end, instead of once per order.

    Returns the orders still queued: nothing of them reached the panel (unreachable, refused
    for its rate limit, or not tried before `until`, a time.monotonic()), to be sent again later.
    """
    providers = dict(Order.objects.filter(pk__in=list(order_ids)).values_list("pk", "provider_id"))
    last_sent: dict[int, datetime] = {}

    def send(order_id: int) -> None:
        if until is not None and time.monotonic() >= until:
            return
        order = order_submit(order_id=order_id)
        if order is not None and order.status != OrderStatus.QUEUED:
            last_sent[order.provider_id] = timezone.now()
            provider_balance_read_soon(provider=order.provider)

    ids = [order_id for order_id in order_ids if order_id in providers]
    fan_out(send, ids, threads=settings.PROVIDER_MAX_CONCURRENCY * len(set(providers.values())))
    for provider in Provider.objects.filter(pk__in=list(last_sent)):
        # The last read must come after the last order: now, or as soon as reads are allowed.
        behind = provider.balance_checked_at is None or provider.balance_checked_at < last_sent[provider.pk]
        if behind and not provider_balance_read_soon(provider=provider):
            read_balance_soon.apply_async((provider.pk,), countdown=BALANCE_EVERY.total_seconds())
    return list(Order.objects.filter(pk__in=ids, status=OrderStatus.QUEUED))


def order_submit_now(*, order: Order, sleep: Callable[[float], None] = time.sleep) -> Order:
    """Send an order from this process, retrying "unreachable" as the task would (commands)."""
    while True:
        result = order_submit(order_id=order.pk)
        if result is None or result.status != OrderStatus.QUEUED:
            result = result or Order.objects.get(pk=order.pk)
            provider_balance_read_soon(provider=result.provider)
            return result
        sleep(submit_backoff(result.submit_attempts))


def orders_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Orders stuck between states: `submitting` too long → unconfirmed; `queued` too long → sent
    again; `waiting_for_link` too long with nothing of ours ahead → sent again.

    A submitting order whose worker died may have reached the panel, so it is never resent;
    a queued one never left, so sending it is safe (the claim keeps it to one request).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ORDERS_STUCK_MINUTES)
    unconfirmed = 0
    for order in Order.objects.filter(status=OrderStatus.SUBMITTING, status_changed_at__lt=cutoff):
        unconfirmed += order_transition(
            order,
            OrderStatus.UNCONFIRMED,
            kind=EventKind.UNCONFIRMED,
            allowed_from=[OrderStatus.SUBMITTING],
            message=STUCK_MESSAGE,
            last_error=STUCK_MESSAGE,
            needs_attention=True,
        )
    stale = list(
        Order.objects.filter(status=OrderStatus.QUEUED, status_changed_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    if stale:
        with transaction.atomic():
            Order.objects.filter(pk__in=stale, status=OrderStatus.QUEUED).update(status_changed_at=now)
            orders_send_on_commit(stale)
    released = orders_release_stale(before=cutoff)
    return {"unconfirmed": unconfirmed, "requeued": len(stale), "released": released}


def order_resolve(
    *,
    order: Order,
    placed: bool,
    provider_order_id: int | None = None,
    user: User | None = None,
    ip: str | None = None,
    note: str = "",
) -> Order:
    """A person's answer about an unconfirmed order: placed (with the panel's id) or not placed."""
    if order.status != OrderStatus.UNCONFIRMED:
        raise OrderActionError("Only an unconfirmed order can be resolved.")
    suffix = f" {note.strip()}" if note.strip() else ""
    now = timezone.now()
    if placed:
        if not provider_order_id or provider_order_id <= 0:
            raise OrderActionError("Enter the provider's order id.")
        to, message = OrderStatus.PENDING, f"Placed: provider order #{provider_order_id}.{suffix}"
        fields: dict[str, object] = {
            "provider_order_id": provider_order_id,
            "provider_status": "Pending",
            "submitted_at": now,
            "next_check_at": now,
            "last_error": "",
        }
    else:
        to, message, fields = OrderStatus.REJECTED, f"Not placed.{suffix}", {"finished_at": now}
    try:
        moved = order_transition(
            order,
            to,
            kind=EventKind.RESOLVED,
            allowed_from=[OrderStatus.UNCONFIRMED],
            message=message,
            user=user,
            needs_attention=False,
            **fields,
        )
    except IntegrityError:
        # Only a placed order's provider order id is unique.
        other = Order.objects.filter(provider=order.provider_id, provider_order_id=provider_order_id).first()
        owner = other.code if other else "another order"
        message = f"Provider order #{provider_order_id} already belongs to {owner}."
        raise OrderActionError(message) from None
    if not moved:
        raise OrderActionError("The order changed meanwhile; reload it.")
    if not placed:
        orders_release_behind(order_ids=[order.pk])
    audit_record(
        action=AuditAction.ORDER_RESOLVED,
        actor=user,
        ip=ip,
        target=order,
        before={"status": OrderStatus.UNCONFIRMED},
        after={"status": order.status, "placed": placed, "provider_order_id": order.provider_order_id},
        note=note.strip(),
    )
    return order
