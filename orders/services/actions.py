"""Refills and cancellations, single and bulk, with every per-order answer recorded."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from jappanel.events import Occurrence, announce
from orders.models import (
    PROVIDER_REFILL_STATUSES,
    TRACKED_STATUSES,
    CancelRequest,
    EventKind,
    Order,
    OrderEvent,
    Refill,
    RefillStatus,
    status_from_provider,
)
from orders.services.common import BATCH, REFILL_CHECK_EVERY, OrderActionError, User
from orders.services.guarantees import refill_askable, refill_blocked_ids, refills_due
from orders.services.lifecycle import order_event, person_or_none
from orders.services.tracking import PollReport
from orders.signals import refill_refused
from providers.client import (
    ItemError,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
)
from providers.crypto import ApiKeyDecryptionError
from providers.models import Provider
from providers.services import provider_record_error
from team.models import Campaign

logger = logging.getLogger(__name__)

# Refills one campaign's auto-refill asks per round at most (the next round takes the rest).
AUTO_REFILL_MAX = 1000


def _by_provider(orders: Iterable[Order]) -> dict[Provider, list[Order]]:
    grouped: dict[int, list[Order]] = defaultdict(list)
    providers: dict[int, Provider] = {}
    for order in orders:
        grouped[order.provider_id].append(order)
        providers[order.provider_id] = order.provider
    return {providers[pk]: items for pk, items in grouped.items()}


def _multi_answers(
    provider: Provider, orders: Sequence[Order], call: Callable[[Any, list[int]], dict[int, Any]]
) -> tuple[dict[int, Any], str, bool]:
    """Per-order answers of a multi call; with the failure's sentence, and whether it may have acted."""
    ids = [order.provider_order_id for order in orders]
    try:
        with provider.client() as client:
            return call(client, ids), "", False
    except (ProviderError, ApiKeyDecryptionError) as exc:
        if isinstance(exc, ProviderError):
            provider_record_error(provider=provider, error=exc)
        return getattr(exc, "partial_results", {}), str(exc), isinstance(exc, ProviderOutcomeUnknown)


def _request_refills(client: Any, ids: list[int]) -> dict[int, Any]:
    if len(ids) == 1:
        # One order: the single form of `refill`, whose refusal is the panel's own sentence.
        try:
            return {ids[0]: client.refill(ids[0])}
        except ProviderRejected as exc:
            return {ids[0]: ItemError(exc.message)}
    return client.refills(ids)


def refills_request(
    *,
    orders: Iterable[Order],
    user: User | None = None,
    ip: str | None = None,
    actor_name: str = "",
) -> list[Refill]:
    """Ask for a refill of every order whose service allows one; record each answer.

    Orders that cannot be refilled (service without refill, not finished) or whose last refill
    is still pending are skipped: never a second refill at once. The panel's refusal ("Refill is
    disabled for this service") is an outcome, `refused`; a call that failed is `failed` (not
    sent), or `unconfirmed` when it may have reached the panel, and is never repeated by itself.
    `actor_name` names the system acting when there is no `user` (auto-refill of a campaign).
    """
    eligible = [order for order in orders if order.can_refill()]
    blocked = refill_blocked_ids(order.pk for order in eligible)
    eligible = [order for order in eligible if order.pk not in blocked]
    now = timezone.now()
    refills, events = [], []
    for provider, items in _by_provider(eligible).items():
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            answers, failure, maybe = _multi_answers(provider, chunk, _request_refills)
            for order in chunk:
                refill = _refill_from_answer(order, answers.get(order.provider_order_id), failure, maybe, now)
                refill.user = person_or_none(user)
                refills.append(refill)
                message = (
                    f"Refill requested: provider refill #{refill.provider_refill_id}"
                    if refill.provider_refill_id is not None
                    else f"Refill {refill.get_status_display().lower()}: {refill.error}"
                )
                events.append(order_event(order, EventKind.REFILL, message, user=user, at=now))
    with transaction.atomic():
        Refill.objects.bulk_create(refills)
        OrderEvent.objects.bulk_create(events)
        announce(_refused(r) for r in refills if r.status == RefillStatus.FAILED)
        for refill in refills:
            audit_record(
                action=AuditAction.ORDER_REFILL,
                actor=user,
                actor_name=actor_name,
                ip=ip,
                target=refill.order,
                after={"provider_refill_id": refill.provider_refill_id, "status": refill.status},
                note=refill.error,
            )
        refused = [refill for refill in refills if refill.status == RefillStatus.REFUSED]
        if refused:
            transaction.on_commit(lambda: refill_refused.send(sender=Refill, refills=refused), robust=True)
    return refills


def _refill_from_answer(order: Order, answer: Any, failure: str, maybe: bool, now: datetime) -> Refill:
    refill = Refill(order=order, requested_at=now)
    if isinstance(answer, int):
        refill.provider_refill_id = answer
        refill.next_check_at = now + REFILL_CHECK_EVERY
    elif isinstance(answer, ItemError):
        refill.status, refill.error, refill.finished_at = RefillStatus.REFUSED, answer.message, now
    elif maybe:
        refill.status, refill.error = RefillStatus.UNCONFIRMED, failure
    else:
        refill.status, refill.error, refill.finished_at = RefillStatus.FAILED, failure, now
    return refill


def refill_request(*, order: Order, user: User | None = None, ip: str | None = None) -> Refill:
    """Ask for a refill of one order; OrderActionError when its service or state does not allow it."""
    if not order.can_refill():
        if not order.service.refill:
            raise OrderActionError("This service has no refill.")
        raise OrderActionError("Only a completed or partial order can be refilled.")
    if refill_blocked_ids([order.pk]):
        raise OrderActionError("A refill of this order is still pending: the panel takes one at a time.")
    return refills_request(orders=[order], user=user, ip=ip)[0]


def refills_auto_round(*, now: datetime | None = None) -> int:
    """Ask the refills each campaign's auto-refill policy calls for; return how many were asked.

    For a campaign refilling "every N days": each of its orders inside its window, a day past
    completion, with no refill pending and none asked in the last N days. Through the same
    service as a person's request, audited as the system acting for the campaign.
    """
    now = now or timezone.now()
    asked = 0
    campaigns = Campaign.objects.filter(active=True, auto_refill_every_days__isnull=False)
    for campaign in campaigns.order_by("pk"):
        due = refills_due(now=now, days=campaign.auto_refill_every_days, campaign_id=campaign.pk)
        orders = [
            order
            for order in due.order_by("refill_until", "pk")[:AUTO_REFILL_MAX]
            if refill_askable(order, now)
        ]
        if orders:
            refills = refills_request(
                orders=orders, actor_name=f"system: auto-refill of campaign {campaign.name}"
            )
            asked += len(refills)
    return asked


def refills_poll_round(*, now: datetime | None = None) -> PollReport:
    """Check every refill that is due, 100 refill ids per `refill_status` call."""
    started = time.perf_counter()
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Refill.objects.filter(next_check_at__lte=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("order__provider")
            .order_by("next_check_at")[: settings.ORDERS_POLL_MAX_PER_ROUND]
        )
        Refill.objects.filter(pk__in=[r.pk for r in due]).update(
            last_checked_at=now, next_check_at=now + REFILL_CHECK_EVERY
        )
    report = PollReport(due=len(due))
    grouped: dict[int, list[Refill]] = defaultdict(list)
    for refill in due:
        grouped[refill.order.provider_id].append(refill)
    for refills in grouped.values():
        for start in range(0, len(refills), BATCH):
            report.add(_refill_batch_check(refills[start : start + BATCH], now))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _refused(refill: Refill) -> Occurrence:
    return Occurrence(
        "refill.refused",
        f"refill:{refill.pk}",
        {"refill_id": refill.pk, "order_id": refill.order_id, "error": refill.error},
    )


def _refill_batch_check(refills: Sequence[Refill], now: datetime) -> PollReport:
    provider = refills[0].order.provider
    report = PollReport(calls=1)
    try:
        with provider.client() as client:
            answers = client.refill_statuses([r.provider_refill_id for r in refills])
    except (ProviderError, ApiKeyDecryptionError) as exc:
        answers = getattr(exc, "partial_results", {})
        if isinstance(exc, ProviderError):
            provider_record_error(provider=provider, error=exc)
    changed, events = [], []
    for refill in refills:
        answer = answers.get(refill.provider_refill_id)
        if answer is None:
            continue
        report.checked += 1
        if isinstance(answer, ItemError):
            report.errors += 1
            if refill.error == answer.message:
                continue
            refill.error = answer.message
        else:
            status = status_from_provider(answer, PROVIDER_REFILL_STATUSES, RefillStatus.OTHER)
            if status == refill.status and answer == refill.provider_status:
                continue
            refill.status, refill.provider_status, refill.error = status, answer, ""
            if refill.is_final:
                refill.finished_at, refill.next_check_at = now, None
        changed.append(refill)
        message = f"Refill #{refill.provider_refill_id}: {refill.error or refill.provider_status}"
        events.append(order_event(refill.order, EventKind.REFILL, message, at=now))
    if changed:
        with transaction.atomic():
            Refill.objects.bulk_update(
                changed, ["status", "provider_status", "error", "finished_at", "next_check_at"]
            )
            OrderEvent.objects.bulk_create(events)
            announce(_refused(r) for r in changed if r.status == RefillStatus.REJECTED)
    report.changed = len(changed)
    return report


def orders_cancel(
    *, orders: Iterable[Order], user: User | None = None, ip: str | None = None
) -> list[CancelRequest]:
    """Ask the panel to cancel orders whose service allows it; record each order's answer.

    Accepted orders are checked again at once, to show the status the cancel led to.
    """
    eligible = [order for order in orders if order.can_cancel()]
    now = timezone.now()
    requests, events, accepted_ids = [], [], []
    for provider, items in _by_provider(eligible).items():
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            answers, failure, maybe = _multi_answers(provider, chunk, lambda c, ids: c.cancel(ids))
            for order in chunk:
                answer = answers.get(order.provider_order_id)
                if answer is True:
                    accepted, text = True, "Cancel accepted"
                    accepted_ids.append(order.pk)
                elif isinstance(answer, ItemError):
                    accepted, text = False, answer.message
                else:
                    accepted, text = (None if maybe else False), failure
                requests.append(
                    CancelRequest(
                        order=order,
                        user=person_or_none(user),
                        requested_at=now,
                        accepted=accepted,
                        answer=text,
                    )
                )
                events.append(order_event(order, EventKind.CANCEL, text, user=user, at=now))
    with transaction.atomic():
        CancelRequest.objects.bulk_create(requests)
        OrderEvent.objects.bulk_create(events)
        for cancel in requests:
            audit_record(
                action=AuditAction.ORDER_CANCEL,
                actor=user,
                ip=ip,
                target=cancel.order,
                after={"accepted": cancel.accepted},
                note=cancel.answer,
            )
        Order.objects.filter(pk__in=accepted_ids, status__in=list(TRACKED_STATUSES)).update(next_check_at=now)
    return requests


def order_cancel(*, order: Order, user: User | None = None, ip: str | None = None) -> CancelRequest:
    """Ask the panel to cancel one order; OrderActionError when it cannot be canceled."""
    if not order.can_cancel():
        if not order.service.cancel:
            raise OrderActionError("This service cannot be canceled.")
        raise OrderActionError("Only an order in progress at the provider can be canceled.")
    return orders_cancel(orders=[order], user=user, ip=ip)[0]
