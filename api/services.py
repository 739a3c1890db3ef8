"""The team API's rules: keys (made, checked, counted, revoked) and what a key may see and do.

A key acts as its owner and nothing more: every action goes through the same services (and,
for `add`, the same form) as our pages, so budgets, approvals, the shortlist and the audit log
hold for scripts exactly as for people.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from api.models import ApiKey, ApiOrder
from audit.models import AuditAction
from audit.services import audit_record
from catalog.models import Service, ShortlistEntry, ShortlistRule
from jappanel.web.access import may
from orders.forms import ORDER_FIELD_NAMES, OrderForm
from orders.models import CancelRequest, Order, OrderStatus, Refill, RefillStatus
from orders.permissions import may_act_on
from orders.services.actions import order_cancel, orders_cancel, refill_request, refills_request
from orders.services.common import OrderActionError
from orders.services.placing import fingerprint
from orders.services.policy import shortlist_rule_for
from orders.services.spend import budget_spent, order_spend
from providers.models import Provider
from providers.wire import INCORRECT_ORDER, Params, WireError, service_shape, status_shape
from team.models import Budget
from team.services import team_currency

KEY_PREFIX = "jpk_"
PREFIX_LENGTH = 12
RETRY_WINDOW = timedelta(seconds=60)
RATE_WINDOW = timedelta(seconds=60)
MAX_KEY_LENGTH = 200
MAX_ORDER_ID = 2**63 - 1

INCORRECT_SERVICE = "Incorrect service ID"
MAY_NOT_ORDER = "Your role may not place orders: ask a manager for the Buyer role."
MAY_NOT_ACT = "Your role may not refill or cancel this order."
CANCEL_UNKNOWN = "Whether the provider took the cancel is unknown; the order is checked again."
IDEMPOTENCY_REUSED = "This idempotency_key placed order {order} with other fields: nothing more was placed."

# Our statuses in the protocol's words (README, "Team API"). Orders not sent yet are Pending; an
# order whose sending may have reached the panel is Processing until a person settles it; a
# refused or declined order never ran, which a JAP client knows as Canceled.
STATUS_NAMES = {
    OrderStatus.AWAITING_APPROVAL: "Pending",
    OrderStatus.QUEUED: "Pending",
    OrderStatus.SUBMITTING: "Pending",
    OrderStatus.PENDING: "Pending",
    OrderStatus.IN_PROGRESS: "In progress",
    OrderStatus.PROCESSING: "Processing",
    OrderStatus.UNCONFIRMED: "Processing",
    OrderStatus.OTHER: "Processing",
    OrderStatus.PARTIAL: "Partial",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.CANCELED: "Canceled",
    OrderStatus.REJECTED: "Canceled",
    OrderStatus.DECLINED: "Canceled",
}
# What a `status` answer reads of an order (and what `order_spend()` needs).
STATUS_COLUMNS = (
    *("status", "provider_status", "charge", "estimated_charge", "currency"),
    *("quantity", "remains", "start_count"),
)
REFILL_STATUS_NAMES = {
    RefillStatus.PENDING: "Pending",
    RefillStatus.IN_PROGRESS: "In progress",
    RefillStatus.OTHER: "In progress",
    RefillStatus.COMPLETED: "Completed",
    RefillStatus.REJECTED: "Rejected",
    RefillStatus.FAILED: "Rejected",
}


# Keys -------------------------------------------------------------------------------------------


def _digest(token: str) -> str:
    # The key is 32 random bytes: a plain digest cannot be reversed, and a slow hash would only
    # slow every request down.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A key just made: `token` is shown to its owner this once and never stored."""

    key: ApiKey
    token: str


def api_key_create(
    *, user: Any, name: str, expires_at: datetime | None = None, ip: str | None = None
) -> NewKey:
    """Make a key for `user`; only its digest and its first characters are kept. Audited
    (API_KEY_CREATED) with its name and expiry, never the key."""
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            user=user,
            name=name.strip()[:100],
            prefix=token[:PREFIX_LENGTH],
            digest=_digest(token),
            expires_at=expires_at,
        )
        audit_record(
            action=AuditAction.API_KEY_CREATED,
            actor=user,
            ip=ip,
            target=key,
            after={"name": key.name, "expires_at": expires_at.isoformat() if expires_at else None},
        )
    return NewKey(key=key, token=token)


def api_key_revoke(*, key: ApiKey, by: Any, ip: str | None = None) -> ApiKey:
    """Revoke `key` at once (revoking twice keeps the first time and who did it); audited
    (API_KEY_REVOKED) once, by whoever revoked it."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=by
        )
        key.refresh_from_db()
        if revoked:
            audit_record(
                action=AuditAction.API_KEY_REVOKED,
                actor=by,
                ip=ip,
                target=key,
                note=f"A key of {key.user.get_username()}.",
            )
    return key


def api_keys_visible_to(user: Any) -> QuerySet[ApiKey]:
    """Everyone's keys for who manages people, else the person's own."""
    keys = ApiKey.objects.select_related("user", "revoked_by")
    return keys if may(user, "manage_people") else keys.filter(user=user)


def api_key_authenticate(*, token: str, now: datetime | None = None) -> ApiKey | None:
    """The usable key `token` is, with its owner; None for anything else (revoked, expired,
    an owner who was deactivated, no such key)."""
    if not token or len(token) > MAX_KEY_LENGTH:
        return None
    key = ApiKey.objects.select_related("user").filter(digest=_digest(token)).first()
    if key is None or not key.is_usable(now) or not key.user.is_active:
        return None
    return key


def api_key_use(*, key: ApiKey, ip: str | None, now: datetime | None = None) -> bool:
    """Count one request against the key's limit and note when and whence it came; False when
    the key has used up its requests for the minute that began with its window's first one.

    One conditional UPDATE: two processes counting at once never both take the last request.
    """
    now = now or timezone.now()
    window_open = Q(window_start__gt=now - RATE_WINDOW)
    counted = (
        ApiKey.objects.filter(pk=key.pk)
        .filter(~window_open | Q(window_count__lt=settings.API_RATE_LIMIT_PER_MINUTE))
        .update(
            window_count=Case(When(window_open, then=F("window_count") + 1), default=Value(1)),
            window_start=Case(When(window_open, then=F("window_start")), default=Value(now)),
            last_used_at=now,
            last_used_ip=ip,
        )
    )
    return counted == 1


# What a key sees and does ---------------------------------------------------------------------


def _order_id(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit():
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ORDER_ID else None


def _form_sentence(form: OrderForm) -> str:
    """A refused form's problems as one line, each under its field's label as on the page."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize() if name in form.fields else ""
        for error in errors:
            parts.append(f"{label}: {error}" if label else error)
    return " ".join(parts) or "The order was refused."


class TeamBackend:
    """One key's view of the team (`providers.wire.Backend`): what its owner may see and do."""

    def __init__(self, key: ApiKey, *, ip: str | None) -> None:
        self.key = key
        self.user = key.user
        self.ip = ip

    # services

    def orderable(self) -> QuerySet[Service]:
        """The active catalog the owner may order from: all of it, or the shortlist when the team
        policy holds them to it."""
        services = Service.objects.filter(active=True, provider__active=True).select_related("provider")
        if shortlist_rule_for(self.user) == ShortlistRule.ONLY:
            services = services.filter(pk__in=ShortlistEntry.objects.values("service_id"))
        return services.order_by("pk")

    def services(self) -> list[dict[str, object]]:
        return [
            {
                **service_shape(
                    service=service.pk,
                    name=service.name,
                    type=service.type,
                    rate_per_1000=service.rate,
                    min=service.min_quantity,
                    max=service.max_quantity,
                    dripfeed=service.dripfeed,
                    refill=service.refill,
                    cancel=service.cancel,
                    category=service.category,
                ),
                "currency": service.provider.currency,
            }
            for service in self.orderable()
        ]

    # add

    def add(self, params: Params) -> int:
        if not may(self.user, "place_order"):
            raise WireError(MAY_NOT_ORDER)
        service_id = _order_id(params.get("service", ""))
        if service_id is None:
            raise WireError(INCORRECT_SERVICE)
        fields = {name: params[name] for name in ORDER_FIELD_NAMES if params.get(name, "") != ""}
        digest = fingerprint({"service": service_id, "fields": fields})
        idempotency_key = params.get("idempotency_key", "").strip()[:100]
        with transaction.atomic():
            # One add at a time per key: a retry waits for the first try, then finds its order.
            # Two queries, not one: a lookup inside the locking SELECT would read the snapshot
            # taken before the wait, and miss the order the first try just committed.
            ApiKey.objects.select_for_update().filter(pk=self.key.pk).values_list("pk").first()
            earlier = self._earlier(digest, idempotency_key)
            if earlier is not None:
                return earlier
            # The client's idempotency key names the person's submission, as a form's token does.
            token = (
                f"api:{self.key.pk}:{fingerprint(idempotency_key)}"
                if idempotency_key
                else secrets.token_urlsafe(24)
            )
            form = OrderForm(
                {"service": str(service_id), **fields, "submission_token": token}, user=self.user
            )
            if not form.is_valid() and "service" in form.errors:
                # The form offers active services only: unknown and retired ids alike.
                raise WireError(INCORRECT_SERVICE)
            order = form.place(user=self.user, ip=self.ip) if form.is_valid() else None
            if order is None:
                raise WireError(_form_sentence(form))
            ApiOrder.objects.create(
                order=order, key=self.key, fingerprint=digest, idempotency_key=idempotency_key
            )
        return order.pk

    def _earlier(self, digest: str, idempotency_key: str) -> int | None:
        """The order this request already placed: by its idempotency key, or the same fields
        within the retry window."""
        mine = ApiOrder.objects.filter(key=self.key)
        if idempotency_key:
            earlier = mine.filter(idempotency_key=idempotency_key).first()
            if earlier is not None and earlier.fingerprint != digest:
                raise WireError(IDEMPOTENCY_REUSED.format(order=earlier.order_id))
        else:
            since = timezone.now() - RETRY_WINDOW
            earlier = mine.filter(fingerprint=digest, created_at__gte=since).order_by("-created_at").first()
        return earlier.order_id if earlier is not None else None

    # status

    def _orders(self, ids: list[str], orders: QuerySet[Order]) -> dict[str, Order | None]:
        """Each id's order among `orders`, if the owner may see orders at all."""
        numbers = {raw: _order_id(raw) for raw in ids}
        found: dict[int, Order] = {}
        if may(self.user, "view_orders"):
            wanted = [number for number in numbers.values() if number is not None]
            found = {order.pk: order for order in orders.filter(pk__in=wanted)}
        return {raw: found.get(number) if number else None for raw, number in numbers.items()}

    def statuses(self, ids: list[str]) -> dict[str, dict[str, object] | None]:
        orders = Order.objects.only(*STATUS_COLUMNS).annotate(spend=order_spend())
        return {raw: _status(order) if order else None for raw, order in self._orders(ids, orders).items()}

    # refill

    def _actionable(self, ids: list[str]) -> tuple[dict[str, Order], dict[str, WireError]]:
        orders, refused = {}, {}
        for raw, order in self._orders(ids, Order.objects.select_related("service", "provider")).items():
            if order is None:
                refused[raw] = WireError(INCORRECT_ORDER)
            elif not may_act_on(self.user, order, "act"):
                refused[raw] = WireError(MAY_NOT_ACT)
            else:
                orders[raw] = order
        return orders, refused

    def _act(
        self,
        ids: list[str],
        eligible_if: Callable[[Order], bool],
        one: Callable[..., object],
        batch: Callable[..., Iterable[Any]],
        answer: Callable[[Any], Any],
    ) -> dict[str, Any]:
        """Act on the orders of `ids` that may be acted on and are eligible, all in one `batch`
        call, and answer each with `answer(result)`; an ineligible order gets the sentence the
        single action (`one`) refuses it with, and one not ours to act on the wire's refusal."""
        orders, refused = self._actionable(ids)
        answers: dict[str, Any] = dict(refused)
        eligible = {raw: order for raw, order in orders.items() if eligible_if(order)}
        for raw, order in orders.items():
            if raw not in eligible:
                answers[raw] = _refusal(lambda order=order: one(order=order, user=self.user, ip=self.ip))
        done = {
            result.order_id: result for result in batch(orders=eligible.values(), user=self.user, ip=self.ip)
        }
        for raw, order in eligible.items():
            answers[raw] = answer(done[order.pk])
        return {raw: answers[raw] for raw in ids}

    def refill(self, raw_id: str) -> int:
        answer = self.refills([raw_id])[raw_id]
        if isinstance(answer, WireError):
            raise answer
        return answer

    def refills(self, ids: list[str]) -> dict[str, int | WireError]:
        def answer(refill: Refill) -> int | WireError:
            return WireError(refill.error) if refill.status == RefillStatus.FAILED else refill.pk

        return self._act(ids, Order.can_refill, refill_request, refills_request, answer)

    def refill_statuses(self, ids: list[str]) -> dict[str, str | None]:
        numbers = {raw: _order_id(raw) for raw in ids}
        refills = Refill.objects.filter(pk__in=[number for number in numbers.values() if number])
        if not may(self.user, "view_refills"):
            refills = refills.none()
        found = {refill.pk: REFILL_STATUS_NAMES.get(refill.status, "In progress") for refill in refills}
        return {raw: found.get(number) if number else None for raw, number in numbers.items()}

    # cancel

    def cancel(self, ids: list[str]) -> dict[str, WireError | None]:
        def answer(cancel: CancelRequest) -> WireError | None:
            if cancel.accepted:
                return None
            if cancel.accepted is None:
                return WireError(f"{CANCEL_UNKNOWN} {cancel.answer}".strip())
            return WireError(cancel.answer or "The provider did not cancel this order.")

        return self._act(ids, Order.can_cancel, order_cancel, orders_cancel, answer)

    # balance

    def balance(self) -> tuple[Decimal, str]:
        return spendable(user=self.user)


def _refusal(attempt: Any) -> WireError:
    """The sentence a refused action raises (it refuses before anything is sent)."""
    try:
        attempt()
    except OrderActionError as exc:
        return WireError(str(exc))
    raise AssertionError("an ineligible order was not refused")


def _status(order: Order) -> dict[str, object]:
    name = STATUS_NAMES.get(order.status, "Processing")
    if order.status == OrderStatus.OTHER and order.provider_status:
        name = order.provider_status
    return status_shape(
        charge=order.spend or Decimal(0),
        start_count=order.start_count,
        status=name,
        remains=order.remains if order.remains is not None else order.quantity,
        currency=order.currency,
    )


def spendable(*, user: Any, now: datetime | None = None) -> tuple[Decimal, str]:
    """What `user` may still spend this month, in their budget's currency (else the team's): the
    tightest of their budget and what the providers can still take (a provider's balance, less
    what its team cap has left). Without a budget of their own, that is the providers' room."""
    month = timezone.localdate(now)
    own = Budget.objects.filter(user=user).first()
    currency = own.currency if own else team_currency()
    caps = {budget.provider_id: budget for budget in Budget.objects.filter(provider__isnull=False)}
    rooms = []
    for provider in Provider.objects.filter(active=True, currency=currency):
        limits = [provider.balance] if provider.balance is not None else []
        cap = caps.get(provider.pk)
        if cap is not None and cap.currency == currency:
            limits.append(cap.amount - budget_spent(provider=provider, month=month, currency=currency))
        if limits:
            rooms.append(min(limits))
    candidates = [max(rooms)] if rooms else []
    if own is not None:
        candidates.append(own.amount - budget_spent(user=user, month=month, currency=currency))
    return max(min(candidates), Decimal(0)) if candidates else Decimal(0), currency
