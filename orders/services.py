"""Order rules: placing an order exactly once, following it, refills, cancels and resolutions.

Nothing here calls a panel inside a database transaction, and nothing re-sends an `add` that may
have reached the panel: `ProviderOutcomeUnknown` always ends in `unconfirmed`, for a person.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.models import Service
from catalog.platforms import Platform
from jappanel.client import (
    ItemError,
    OrderFieldError,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnreachable,
    validate_order_fields,
)
from jappanel.client import (
    OrderStatus as ProviderOrderStatus,
)
from jappanel.providers.crypto import ApiKeyDecryptionError
from jappanel.providers.models import Provider
from jappanel.providers.services import provider_record_error, provider_refresh_balance
from orders.models import (
    COLUMN_FIELDS,
    FINAL_STATUSES,
    STATUS_RANK,
    TRACKED_STATUSES,
    CancelRequest,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
    Refill,
    RefillStatus,
    refill_status_from_provider,
    status_from_provider,
)

logger = logging.getLogger(__name__)

User = AbstractBaseUser
ZERO = Decimal("0")
CENT = Decimal("0.01")
ACCURACY = Decimal("0.00001")
BATCH = 100  # ids per multi call, and orders per polling task
PACKAGE_TYPES = frozenset({"Package", "Custom Comments Package"})
# Types whose quantity is the number of lines of one field.
LINE_COUNTED = {
    "Custom Comments": "comments",
    "Custom Comments Package": "comments",
    "Comment Replies": "comments",
    "Mentions Custom List": "usernames",
}
# Poll young orders often and old ones rarely: (age below, check again after).
POLL_STEPS = (
    (timedelta(minutes=10), timedelta(minutes=1)),
    (timedelta(hours=1), timedelta(minutes=2)),
    (timedelta(hours=6), timedelta(minutes=5)),
    (timedelta(hours=24), timedelta(minutes=15)),
)
REFILL_CHECK_EVERY = timedelta(minutes=5)
STUCK_MESSAGE = (
    "The worker stopped while the order was being sent; the panel may have taken it. "
    "Check the provider's order list, then resolve it."
)


class OrderInvalid(Exception):
    """The order cannot be queued; `errors` maps a field name (or `__all__`) to a sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(
            "; ".join(f"{name}: {text}" if name != "__all__" else text for name, text in errors.items())
        )


class OrderActionError(Exception):
    """An action that does not apply to the order in its present state."""


def money(amount: Decimal, currency: str = "USD") -> str:
    """`$12.40`, `$0.0015`, `12.40 EUR`: cents always, more places only when they matter."""
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    text = f"{cents}" if cents == amount else f"{amount.normalize():f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


# Validation ---------------------------------------------------------------------------------


def _hosts(*names: str) -> re.Pattern[str]:
    return re.compile(r"(^|\.)(" + "|".join(re.escape(name) for name in names) + r")$")


PLATFORM_HOSTS: dict[str, re.Pattern[str]] = {
    Platform.INSTAGRAM: _hosts("instagram.com", "instagr.am"),
    Platform.YOUTUBE: _hosts("youtube.com", "youtu.be"),
    Platform.TIKTOK: _hosts("tiktok.com"),
    Platform.FACEBOOK: _hosts("facebook.com", "fb.com", "fb.watch", "fb.me"),
    Platform.TWITTER: _hosts("twitter.com", "x.com", "t.co"),
    Platform.LINKEDIN: _hosts("linkedin.com", "lnkd.in"),
    Platform.TELEGRAM: _hosts("t.me", "telegram.me", "telegram.dog"),
    Platform.DISCORD: _hosts("discord.gg", "discord.com", "discordapp.com"),
    Platform.SPOTIFY: _hosts("spotify.com", "spotify.link"),
    Platform.TWITCH: _hosts("twitch.tv"),
    Platform.APP_STORE: _hosts("apps.apple.com", "itunes.apple.com", "play.google.com"),
    Platform.GOOGLE: re.compile(r"(^|\.)(google\.[a-z]{2,3}(\.[a-z]{2})?|goo\.gl|g\.page)$"),
}
PLATFORM_EXAMPLES = {
    Platform.INSTAGRAM: "instagram.com",
    Platform.YOUTUBE: "youtube.com or youtu.be",
    Platform.TIKTOK: "tiktok.com",
    Platform.FACEBOOK: "facebook.com",
    Platform.TWITTER: "x.com or twitter.com",
    Platform.LINKEDIN: "linkedin.com",
    Platform.TELEGRAM: "t.me",
    Platform.DISCORD: "discord.gg or discord.com",
    Platform.SPOTIFY: "open.spotify.com",
    Platform.TWITCH: "twitch.tv",
    Platform.APP_STORE: "apps.apple.com or play.google.com",
    Platform.GOOGLE: "google.com or goo.gl",
}


def link_error(link: str, platform: str) -> str | None:
    """Why `link` is not a link for `platform`, or None when it looks right."""
    if any(ch.isspace() for ch in link):
        return "A link has no spaces."
    url = urlsplit(link if "://" in link else f"https://{link}")
    host = (url.hostname or "").lower()
    if url.scheme not in ("http", "https") or "." not in host:
        return "Enter a full link, such as https://example.com/page."
    pattern = PLATFORM_HOSTS.get(platform)
    if pattern is not None and not pattern.search(host):
        label = Platform(platform).label
        return f"This is not a {label} link: expected a link on {PLATFORM_EXAMPLES[platform]}, got {host}."
    return None


@dataclass(frozen=True)
class OrderDraft:
    """A validated order, not saved yet: the `add` fields as they will be sent, and their cost."""

    service: Service
    fields: dict[str, str | int]
    estimate: Decimal

    @property
    def quantity(self) -> int | None:
        return _quantity(self.service, self.fields)


def _quantity(service: Service, fields: Mapping[str, Any]) -> int | None:
    if service.type in PACKAGE_TYPES:
        return 1
    if service.type in LINE_COUNTED and LINE_COUNTED[service.type] in fields:
        return len(str(fields[LINE_COUNTED[service.type]]).splitlines())
    quantity = fields.get("quantity")
    return int(quantity) if quantity is not None else None


def order_estimate(*, service: Service, fields: Mapping[str, Any]) -> Decimal:
    """What the order should cost at the service's current rate.

    Drip-feed pays every run; a package costs its rate; a subscription is estimated as one
    post at its maximum per post, plus the old posts it asks for.
    """
    runs = int(fields.get("runs") or 1)
    if service.type in PACKAGE_TYPES:
        cost = service.rate * runs
    elif service.type == "Subscriptions":
        posts = 1 + int(fields.get("old_posts") or 0)
        cost = service.cost(int(fields.get("max") or 0)) * posts
    else:
        cost = service.cost(_quantity(service, fields) or 0) * runs
    return cost.quantize(ACCURACY, rounding=ROUND_HALF_UP)


def _bounds_errors(service: Service, fields: Mapping[str, Any]) -> dict[str, str]:
    low, high = service.min_quantity, service.max_quantity
    if service.type == "Subscriptions":
        names = ["min", "max"]
    elif service.type in PACKAGE_TYPES:
        names = []
    elif service.type in LINE_COUNTED:
        names = [LINE_COUNTED[service.type]]
    else:
        names = ["quantity"]
    errors = {}
    for name in names:
        value = _quantity(service, fields) if name in LINE_COUNTED.values() else fields.get(name)
        if value is None:
            continue
        noun = "lines" if name in LINE_COUNTED.values() else "the quantity"
        if int(value) < low:
            errors[name] = f"This service takes at least {low:,}; {noun}: {int(value):,}."
        elif int(value) > high:
            errors[name] = f"This service takes at most {high:,}; {noun}: {int(value):,}."
    return errors


def uncharged_total(*, provider: Provider) -> Decimal:
    """Estimates of the provider's orders not yet sent: the last known balance does not show them."""
    total = Order.objects.filter(
        provider=provider, status__in=(OrderStatus.QUEUED, OrderStatus.SUBMITTING)
    ).aggregate(total=Sum("estimated_charge"))["total"]
    return total or ZERO


def order_validate(
    *, service: Service, fields: Mapping[str, Any], already_committed: Decimal = ZERO
) -> OrderDraft:
    """Check an order before it is queued; raise OrderInvalid with a sentence per bad field.

    `already_committed` is money promised to orders that the last known balance does not show
    yet (queued ones, earlier lines of a mass order).
    """
    provider = service.provider
    if not service.active or not provider.active:
        raise OrderInvalid({"service": f"{provider.name} no longer offers this service."})
    given = {name: value for name, value in fields.items() if value is not None and value != ""}
    errors: dict[str, str] = {}
    try:
        cleaned = validate_order_fields(service.type, given)
    except OrderFieldError as exc:
        errors.update({name: _sentence(text) for name, text in exc.errors.items()})
        cleaned = {name: value for name, value in given.items() if name not in exc.errors}
    if "link" in cleaned and "link" not in errors:
        problem = link_error(str(cleaned["link"]), service.platform)
        if problem:
            errors["link"] = problem
    if not errors:
        errors.update(_bounds_errors(service, cleaned))
    if errors:
        raise OrderInvalid(errors)
    estimate = order_estimate(service=service, fields=cleaned)
    if provider.balance is not None and provider.balance - already_committed < estimate:
        available = provider.balance - already_committed
        raise OrderInvalid(
            {
                "__all__": f"Not enough funds: balance {money(available, provider.currency)}, "
                f"this order costs {money(estimate, provider.currency)}"
            }
        )
    return OrderDraft(service=service, fields=cleaned, estimate=estimate)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# Placing ----------------------------------------------------------------------------------------


def _event(
    order: Order,
    kind: str,
    message: str = "",
    *,
    from_status: str = "",
    to_status: str = "",
    user: User | None = None,
    at: datetime | None = None,
) -> OrderEvent:
    return OrderEvent(
        order=order,
        at=at or timezone.now(),
        kind=kind,
        from_status=from_status or order.status,
        to_status=to_status or order.status,
        message=message,
        user=_person(user),
    )


def _order_from_draft(draft: OrderDraft, *, user: User | None, token: str, now: datetime) -> Order:
    columns = {name: draft.fields[name] for name in COLUMN_FIELDS if name in draft.fields}
    extra = {name: value for name, value in draft.fields.items() if name not in COLUMN_FIELDS}
    columns["quantity"] = draft.quantity
    return Order(
        provider=draft.service.provider,
        service=draft.service,
        user=_person(user),
        estimated_charge=draft.estimate,
        currency=draft.service.provider.currency,
        submission_token=token,
        created_at=now,
        status_changed_at=now,
        extra=extra,
        **columns,
    )


def orders_create(
    *, drafts: Sequence[OrderDraft], user: User | None = None, tokens: Sequence[str], enqueue: bool = True
) -> list[Order]:
    """Save validated drafts as queued orders (with their events) and, after commit, send them.

    `tokens` are the submission tokens, one per draft: when the first one is taken already,
    this is a resubmission and the orders saved the first time are returned instead.
    """
    existing = _orders_by_token(tokens)
    if existing:
        return existing
    now = timezone.now()
    orders = [_order_from_draft(d, user=user, token=t, now=now) for d, t in zip(drafts, tokens, strict=True)]
    try:
        with transaction.atomic():
            Order.objects.bulk_create(orders)
            OrderEvent.objects.bulk_create(
                [
                    _event(
                        order,
                        EventKind.CREATED,
                        f"Estimated {money(order.estimated_charge)}",
                        user=user,
                        at=now,
                    )
                    for order in orders
                ]  # fmt: skip
            )
            if enqueue:
                ids = [order.pk for order in orders]
                transaction.on_commit(lambda: _enqueue_submits(ids), robust=True)
    except IntegrityError:
        # The same form posted twice at once: the other request saved it first.
        existing = _orders_by_token(tokens)
        if not existing:
            raise
        return existing
    return orders


def _orders_by_token(tokens: Sequence[str]) -> list[Order]:
    found = {o.submission_token: o for o in Order.objects.filter(submission_token__in=tokens)}
    return [found[token] for token in tokens if token in found]


def _enqueue_submits(order_ids: Iterable[int]) -> None:
    from orders.tasks import submit_order

    for order_id in order_ids:
        submit_order.delay(order_id)


def order_place(
    *,
    service: Service,
    link: str = "",
    quantity: int | None = None,
    fields: Mapping[str, Any] | None = None,
    user: User | None = None,
    submission_token: str = "",
    enqueue: bool = True,
) -> Order:
    """Validate an order, save it `queued` and send it after commit (unless `enqueue` is off).

    A `submission_token` seen before returns the order saved then, unchanged: a double click
    or a resubmitted form never makes a second order. Raises OrderInvalid.
    """
    if submission_token:
        existing = Order.objects.filter(submission_token=submission_token).first()
        if existing is not None:
            return existing
    draft = order_validate(
        service=service,
        fields={"link": link, "quantity": quantity, **(fields or {})},
        already_committed=uncharged_total(provider=service.provider),
    )
    token = submission_token or secrets.token_urlsafe(24)
    return orders_create(drafts=[draft], user=user, tokens=[token], enqueue=enqueue)[0]


# Submitting -------------------------------------------------------------------------------------


def _transition(
    order: Order,
    to: str,
    *,
    kind: str,
    allowed_from: Iterable[str],
    message: str = "",
    user: User | None = None,
    **updates: Any,
) -> bool:
    """Move `order` to `to` if it is still in one of `allowed_from`, with its event; True if it moved.

    The conditional UPDATE is the claim: of two processes racing on one order, one wins.
    """
    now = timezone.now()
    previous = order.status
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, status__in=list(allowed_from)).update(
            status=to, status_changed_at=now, **updates
        )
        if moved:
            for name, value in updates.items():
                setattr(order, name, value)
            order.status, order.status_changed_at = to, now
            _event(order, kind, message, from_status=previous, to_status=to, user=user, at=now).save()
    return bool(moved)


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
    """
    claimed = Order.objects.filter(pk=order_id, status=OrderStatus.QUEUED).update(
        status=OrderStatus.SUBMITTING,
        status_changed_at=timezone.now(),
        submit_attempts=F("submit_attempts") + 1,
    )
    if not claimed:
        return None
    order = Order.objects.select_related("provider", "service").get(pk=order_id)
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
    except (ProviderRejected, OrderFieldError, ApiKeyDecryptionError) as exc:
        # Nothing was charged: the panel said no, or nothing was sent at all.
        _reject(order, str(exc))
    except ProviderOutcomeUnknown as exc:
        _transition(
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
    _refresh_balance(order.provider)
    return order


def _reject(order: Order, message: str) -> None:
    _transition(
        order,
        OrderStatus.REJECTED,
        kind=EventKind.REJECTED,
        allowed_from=[OrderStatus.SUBMITTING],
        message=message,
        last_error=message,
        finished_at=timezone.now(),
    )


def _submit_unreachable(order: Order, exc: ProviderUnreachable) -> None:
    if order.submit_attempts < settings.ORDERS_SUBMIT_ATTEMPTS:
        _transition(
            order,
            OrderStatus.QUEUED,
            kind=EventKind.RETRY,
            allowed_from=[OrderStatus.SUBMITTING],
            message=f"{exc} (attempt {order.submit_attempts} of {settings.ORDERS_SUBMIT_ATTEMPTS})",
            last_error=str(exc),
        )
    else:
        _reject(order, f"Not sent after {order.submit_attempts} attempts: {exc}")


def _accept(order: Order, provider_order_id: int) -> None:
    now = timezone.now()
    accepted = _transition(
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
    if not accepted:
        order.refresh_from_db()
        message = f"The provider accepted it as #{provider_order_id} after it was marked {order.status}."
        Order.objects.filter(pk=order.pk).update(needs_attention=True, last_error=message)
        _event(order, EventKind.ERROR, message).save()


def _refresh_balance(provider: Provider) -> None:
    try:
        provider_refresh_balance(provider=provider)
    except ProviderError as exc:
        logger.warning("provider %s: balance not refreshed after an order: %s", provider.name, exc)


def order_submit_now(*, order: Order, sleep: Callable[[float], None] = time.sleep) -> Order:
    """Send an order from this process, retrying "unreachable" as the task would (commands)."""
    while True:
        result = order_submit(order_id=order.pk)
        if result is None or result.status != OrderStatus.QUEUED:
            return result or Order.objects.get(pk=order.pk)
        sleep(submit_backoff(result.submit_attempts))


def orders_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Orders stuck between states: `submitting` too long → unconfirmed; `queued` too long → sent again.

    A submitting order whose worker died may have reached the panel, so it is never resent;
    a queued one never left, so sending it is safe (the claim keeps it to one request).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ORDERS_STUCK_MINUTES)
    unconfirmed = 0
    for order in Order.objects.filter(status=OrderStatus.SUBMITTING, status_changed_at__lt=cutoff):
        unconfirmed += _transition(
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
            transaction.on_commit(lambda: _enqueue_submits(stale), robust=True)
    return {"unconfirmed": unconfirmed, "requeued": len(stale)}


def order_resolve(
    *,
    order: Order,
    placed: bool,
    provider_order_id: int | None = None,
    user: User | None = None,
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
        try:
            moved = _transition(
                order,
                OrderStatus.PENDING,
                kind=EventKind.RESOLVED,
                allowed_from=[OrderStatus.UNCONFIRMED],
                message=f"Placed: provider order #{provider_order_id}.{suffix}",
                user=user,
                provider_order_id=provider_order_id,
                provider_status="Pending",
                submitted_at=now,
                next_check_at=now,
                last_error="",
                needs_attention=False,
            )
        except IntegrityError:
            other = Order.objects.filter(
                provider=order.provider_id, provider_order_id=provider_order_id
            ).first()
            owner = other.code if other else "another order"
            message = f"Provider order #{provider_order_id} already belongs to {owner}."
            raise OrderActionError(message) from None
    else:
        moved = _transition(
            order,
            OrderStatus.REJECTED,
            kind=EventKind.RESOLVED,
            allowed_from=[OrderStatus.UNCONFIRMED],
            message=f"Not placed.{suffix}",
            user=user,
            finished_at=now,
            needs_attention=False,
        )
    if not moved:
        raise OrderActionError("The order changed meanwhile; reload it.")
    return order


# Tracking -----------------------------------------------------------------------------------------


@dataclass
class PollReport:
    """What one polling round (or one batch of it) did."""

    due: int = 0
    checked: int = 0
    changed: int = 0
    calls: int = 0
    errors: int = 0
    seconds: float = 0.0

    def add(self, other: PollReport) -> None:
        for name in ("checked", "changed", "calls", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StatusBatch:
    """Up to 100 claimed orders of one provider; `rows` is JSON, for the task message."""

    provider_id: int
    rows: list[list[Any]] = field(default_factory=list)


# What the poller knows of an order when it claims it (the task message carries it).
SNAPSHOT = (
    "id",
    "provider_order_id",
    "status",
    "provider_status",
    "charge",
    "start_count",
    "remains",
    "last_error",
)


def _db_datetime(value: datetime) -> Any:
    return Order._meta.get_field("next_check_at").get_db_prep_value(value, connection)


def orders_claim_due(*, now: datetime | None = None, limit: int | None = None) -> list[StatusBatch]:
    """Claim the orders due for a status check, in batches of 100 per provider.

    One UPDATE … RETURNING sets each claimed order's next check (soon for young orders, later
    for old ones) before anything is asked, so a second poller running at the same time skips
    them: on PostgreSQL through `FOR UPDATE SKIP LOCKED`, on SQLite because a write holds the
    database lock.
    """
    now = now or timezone.now()
    limit = limit or settings.ORDERS_POLL_MAX_PER_ROUND
    quote = connection.ops.quote_name
    table = quote(Order._meta.db_table)
    age_from = f"COALESCE({quote('submitted_at')}, {quote('created_at')})"
    steps = " ".join(f"WHEN {age_from} >= %s THEN %s" for _ in POLL_STEPS)
    params: list[Any] = [_db_datetime(now)]
    for age, every in POLL_STEPS:
        params += [_db_datetime(now - age), _db_datetime(now + every)]
    params += [
        _db_datetime(now + timedelta(minutes=settings.ORDERS_POLL_MAX_INTERVAL_MINUTES)),
        _db_datetime(now),
        limit,
    ]
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    columns = ", ".join(quote(name) for name in ("provider_id", *SNAPSHOT))
    sql = (
        f"UPDATE {table} SET {quote('last_checked_at')} = %s, "
        f"{quote('next_check_at')} = CASE {steps} ELSE %s END "
        f"WHERE {quote('id')} IN (SELECT {quote('id')} FROM {table} WHERE {quote('next_check_at')} <= %s "
        f"ORDER BY {quote('next_check_at')} LIMIT %s{lock}) RETURNING {columns}"
    )
    # On SQLite the transaction starts with BEGIN IMMEDIATE: the write lock is taken before the
    # due rows are read, so a second poller reads them only after they were claimed.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed = cursor.fetchall()
    by_provider: dict[int, list[list[Any]]] = defaultdict(list)
    for provider_id, *snapshot in sorted(claimed, key=lambda row: row[1]):
        snapshot[4] = None if snapshot[4] is None else str(_decimal(snapshot[4]))
        by_provider[provider_id].append(snapshot)
    return [
        StatusBatch(provider_id=provider_id, rows=rows[start : start + BATCH])
        for provider_id, rows in sorted(by_provider.items())
        for start in range(0, len(rows), BATCH)
    ]


def _decimal(value: Any) -> Decimal:
    # SQLite hands numeric columns back as float; the stored value has five places.
    return Decimal(str(value)).quantize(ACCURACY)


@dataclass(frozen=True)
class _Change:
    id: int
    old_status: str
    status: str
    provider_status: str
    charge: Decimal | None
    currency: str
    start_count: int | None
    remains: int | None
    last_error: str
    needs_attention: bool
    final: bool
    kind: str
    message: str


def _change_for(row: Sequence[Any], answer: ProviderOrderStatus | ItemError, currency: str) -> _Change | None:
    """What to write for one claimed order given the panel's answer; None when nothing changes."""
    order_id, _, old_status, old_provider_status, old_charge, old_start, old_remains, old_error = row
    known = {
        "provider_status": old_provider_status,
        "charge": None if old_charge is None else Decimal(old_charge),
        "start_count": old_start,
        "remains": old_remains,
    }
    if isinstance(answer, ItemError):
        if answer.message == old_error:
            return None
        return _Change(
            id=order_id, old_status=old_status, status=old_status, currency=currency, final=False,
            last_error=answer.message, needs_attention=True, kind=EventKind.ERROR, message=answer.message,
            **known,
        )  # fmt: skip
    status = status_from_provider(answer.status)
    if STATUS_RANK[status] < STATUS_RANK[OrderStatus(old_status)]:
        return None  # an older answer than what we already know
    news = {
        "provider_status": answer.status,
        "charge": answer.charge,
        "start_count": answer.start_count,
        "remains": answer.remains,
    }
    if status == old_status and news == known and not old_error:
        return None
    return _Change(
        id=order_id, old_status=old_status, status=status, currency=currency,
        final=status in FINAL_STATUSES, last_error="", needs_attention=False,
        kind=EventKind.STATUS if status != old_status else "", message=_progress(answer),
        **news,
    )  # fmt: skip


def _progress(answer: ProviderOrderStatus) -> str:
    parts = [f"Provider status: {answer.status}"]
    if answer.start_count is not None:
        parts.append(f"start count {answer.start_count:,}")
    if answer.remains is not None:
        parts.append(f"remains {answer.remains:,}")
    if answer.charge is not None:
        parts.append(f"charge {answer.charge}")
    return ", ".join(parts)


# The columns of a change, with their SQL types on PostgreSQL.
_CHANGE_COLUMNS = {
    "id": "bigint",
    "old_status": "varchar",
    "status": "varchar",
    "provider_status": "varchar",
    "charge": "numeric",
    "currency": "varchar",
    "start_count": "bigint",
    "remains": "bigint",
    "last_error": "text",
    "needs_attention": "boolean",
    "final": "boolean",
    "kind": "varchar",
    "message": "text",
}


def _apply_changes(changes: Sequence[_Change], now: datetime) -> int:
    """Write the changed orders and their events; return how many orders changed.

    One `UPDATE … FROM` a table of the changes, guarded by each order's status as it was
    claimed, so an order changed meanwhile (by a person, or a newer answer) is left alone.
    Django's `bulk_update` costs ~50 ms per 100 rows; this costs a few. On PostgreSQL the
    changes travel as one JSON parameter (1,300 placeholders cost more to bind than the update
    itself) and the events are inserted by the same statement, a data-modifying CTE.
    """
    if not changes:
        return 0
    postgres = connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    rows = [[getattr(change, name) for name in _CHANGE_COLUMNS] for change in changes]
    if postgres:
        record = ", ".join(f"{name} {kind}" for name, kind in _CHANGE_COLUMNS.items())
        values = f"v AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x({record}))"
        params: list[Any] = [
            json.dumps([dict(zip(_CHANGE_COLUMNS, row, strict=True)) for row in rows], default=str)
        ]
    else:
        row_sql = "(" + ", ".join(["%s"] * len(_CHANGE_COLUMNS)) + ")"
        values = f"v ({', '.join(_CHANGE_COLUMNS)}) AS (VALUES {', '.join([row_sql] * len(rows))})"
        params = [value for row in rows for value in row]
    order_table, event_table = quote(Order._meta.db_table), quote(OrderEvent._meta.db_table)
    when = _db_datetime(now)
    copied = ("status", "provider_status", "charge", "currency", "start_count", "remains", "last_error")
    sets = ", ".join(f"{quote(name)} = v.{name}" for name in (*copied, "needs_attention"))
    update = (
        f"UPDATE {order_table} AS o SET {sets}, "
        f"{quote('status_changed_at')} = CASE WHEN o.{quote('status')} <> v.status THEN %s "
        f"ELSE o.{quote('status_changed_at')} END, "
        f"{quote('finished_at')} = CASE WHEN v.final THEN %s ELSE o.{quote('finished_at')} END, "
        f"{quote('next_check_at')} = CASE WHEN v.final THEN NULL ELSE o.{quote('next_check_at')} END "
        f"FROM v WHERE o.{quote('id')} = v.id AND o.{quote('status')} = v.old_status"
    )
    params += [when, when]
    if postgres:
        # One statement: atomic by itself, no transaction round trips.
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH {values}, "
                f"changed AS ({update} RETURNING o.id, v.old_status, v.status, v.kind, v.message), "
                f"events AS (INSERT INTO {event_table} (order_id, at, kind, from_status, to_status, message) "
                f"SELECT id, %s, kind, old_status, status, message FROM changed WHERE kind <> '' "
                f"RETURNING 1) "
                f"SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM events)",
                [*params, when],
            )
            return cursor.fetchone()[0]
    with transaction.atomic(), connection.cursor() as cursor:
        # SQLite's RETURNING names the target table's columns bare (no alias, no FROM tables).
        cursor.execute(f"WITH {values} {update} RETURNING {quote('id')}", params)
        changed = {row[0] for row in cursor.fetchall()}
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(
                    order_id=c.id,
                    at=now,
                    kind=c.kind,
                    from_status=c.old_status,
                    to_status=c.status,
                    message=c.message,
                )
                for c in changes
                if c.id in changed and c.kind
            ]
        )
        return len(changed)


def order_batch_check(*, provider: Provider, rows: Sequence[Sequence[Any]]) -> PollReport:
    """Ask the panel for up to 100 claimed orders in one `status` call and record what changed.

    A per-order error (`Incorrect order ID`) marks that order for attention; a failed call is
    recorded on the provider, and the orders wait for their next check.
    """
    report = PollReport()
    ids = [row[1] for row in rows]
    try:
        with provider.client() as client:
            report.calls = -(-len(ids) // BATCH)
            answers = client.statuses(ids)
    except (ProviderError, ApiKeyDecryptionError) as exc:
        answers = getattr(exc, "partial_results", {})
        report.errors += len(rows) - len(answers)
        if isinstance(exc, ProviderError):
            provider_record_error(provider=provider, error=exc)
        logger.warning("provider %s: status of %d orders not read: %s", provider.name, len(rows), exc)
    changes = []
    for row in rows:
        answer = answers.get(row[1])
        if answer is None:
            continue
        report.checked += 1
        report.errors += isinstance(answer, ItemError)
        change = _change_for(row, answer, getattr(answer, "currency", "") or provider.currency)
        if change is not None:
            changes.append(change)
    report.changed = _apply_changes(changes, timezone.now())
    return report


def orders_poll_round(*, now: datetime | None = None) -> PollReport:
    """One polling round in this process: claim every due order, check each batch, report."""
    started = time.perf_counter()
    batches = orders_claim_due(now=now)
    providers = Provider.objects.in_bulk({batch.provider_id for batch in batches})
    report = PollReport(due=sum(len(batch.rows) for batch in batches))
    for batch in batches:
        report.add(order_batch_check(provider=providers[batch.provider_id], rows=batch.rows))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def orders_check_now(*, orders: Iterable[Order], user: User | None = None) -> int:
    """Make the given orders due now and start a polling round; final ones are left alone."""
    tracked = [order for order in orders if order.is_tracked]
    if not tracked:
        return 0
    now = timezone.now()
    with transaction.atomic():
        Order.objects.filter(pk__in=[o.pk for o in tracked], status__in=list(TRACKED_STATUSES)).update(
            next_check_at=now
        )
        OrderEvent.objects.bulk_create(
            [_event(o, EventKind.CHECK, "Status check requested", user=user) for o in tracked]
        )
        transaction.on_commit(_enqueue_poll, robust=True)
    return len(tracked)


def _enqueue_poll() -> None:
    from orders.tasks import poll_orders

    poll_orders.delay()


# Refills and cancels -------------------------------------------------------------------------------


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


def refills_request(*, orders: Iterable[Order], user: User | None = None) -> list[Refill]:
    """Ask for a refill of every order whose service allows one; record each answer.

    Orders that cannot be refilled (service without refill, not finished) are skipped.
    """
    eligible = [order for order in orders if order.can_refill()]
    now = timezone.now()
    refills, events = [], []
    for provider, items in _by_provider(eligible).items():
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            answers, failure, _ = _multi_answers(provider, chunk, _request_refills)
            for order in chunk:
                answer = answers.get(order.provider_order_id)
                refill = Refill(order=order, user=_person(user), requested_at=now)
                if isinstance(answer, int):
                    refill.provider_refill_id = answer
                    refill.next_check_at = now + REFILL_CHECK_EVERY
                    message = f"Refill requested: provider refill #{answer}"
                else:
                    refill.status = RefillStatus.FAILED
                    refill.error = str(answer) if answer is not None else failure
                    refill.finished_at = now
                    message = f"Refill not requested: {refill.error}"
                refills.append(refill)
                events.append(_event(order, EventKind.REFILL, message, user=user, at=now))
    with transaction.atomic():
        Refill.objects.bulk_create(refills)
        OrderEvent.objects.bulk_create(events)
    return refills


def refill_request(*, order: Order, user: User | None = None) -> Refill:
    """Ask for a refill of one order; OrderActionError when its service or state does not allow it."""
    if not order.can_refill():
        if not order.service.refill:
            raise OrderActionError("This service has no refill.")
        raise OrderActionError("Only a completed or partial order can be refilled.")
    return refills_request(orders=[order], user=user)[0]


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
            status = refill_status_from_provider(answer)
            if status == refill.status and answer == refill.provider_status:
                continue
            refill.status, refill.provider_status, refill.error = status, answer, ""
            if refill.is_final:
                refill.finished_at, refill.next_check_at = now, None
        changed.append(refill)
        message = f"Refill #{refill.provider_refill_id}: {refill.error or refill.provider_status}"
        events.append(_event(refill.order, EventKind.REFILL, message, at=now))
    if changed:
        with transaction.atomic():
            Refill.objects.bulk_update(
                changed, ["status", "provider_status", "error", "finished_at", "next_check_at"]
            )
            OrderEvent.objects.bulk_create(events)
    report.changed = len(changed)
    return report


def orders_cancel(*, orders: Iterable[Order], user: User | None = None) -> list[CancelRequest]:
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
                        order=order, user=_person(user), requested_at=now, accepted=accepted, answer=text
                    )
                )
                events.append(_event(order, EventKind.CANCEL, text, user=user, at=now))
    with transaction.atomic():
        CancelRequest.objects.bulk_create(requests)
        OrderEvent.objects.bulk_create(events)
        Order.objects.filter(pk__in=accepted_ids, status__in=list(TRACKED_STATUSES)).update(next_check_at=now)
    return requests


def order_cancel(*, order: Order, user: User | None = None) -> CancelRequest:
    """Ask the panel to cancel one order; OrderActionError when it cannot be canceled."""
    if not order.can_cancel():
        if not order.service.cancel:
            raise OrderActionError("This service cannot be canceled.")
        raise OrderActionError("Only an order in progress at the provider can be canceled.")
    return orders_cancel(orders=[order], user=user)[0]


def _person(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None
