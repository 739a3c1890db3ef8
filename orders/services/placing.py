"""Validating an order and saving it as queued, exactly once per submission token."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from catalog.models import Service
from catalog.platforms import Platform
from orders.models import (
    COLUMN_FIELDS,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
)
from orders.services.budgets import ABOVE_THRESHOLD, approval_reasons, budgets_check, shortlist_check
from orders.services.common import (
    ACCURACY,
    LINE_COUNTED,
    PACKAGE_TYPES,
    ZERO,
    OrderInvalid,
    User,
    _event,
    _person,
    _sentence,
    money,
)
from providers.client import (
    OrderFieldError,
    validate_order_fields,
)
from providers.models import Provider
from team.models import Campaign

logger = logging.getLogger(__name__)


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
        article = "an" if label[0] in "AEIOU" else "a"
        expected = PLATFORM_EXAMPLES[platform]
        return f"This is not {article} {label} link: expected a link on {expected}, got {host}."
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
    # Every problem at once: a wrong link must not hide a quantity out of bounds.
    for name, problem in _bounds_errors(service, cleaned).items():
        errors.setdefault(name, problem)
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


def _order_from_draft(
    draft: OrderDraft, *, user: User | None, campaign: Campaign | None, token: str, now: datetime
) -> Order:
    columns = {name: draft.fields[name] for name in COLUMN_FIELDS if name in draft.fields}
    extra = {name: value for name, value in draft.fields.items() if name not in COLUMN_FIELDS}
    columns["quantity"] = draft.quantity
    return Order(
        provider=draft.service.provider,
        service=draft.service,
        campaign=campaign,
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
    *,
    drafts: Sequence[OrderDraft],
    user: User | None = None,
    ip: str | None = None,
    tokens: Sequence[str],
    campaign: Campaign | None = None,
    enqueue: bool = True,
) -> list[Order]:
    """Save validated drafts as queued orders (with their events) and, after commit, send them.

    `tokens` are the submission tokens, one per draft: when the first one is taken already,
    this is a resubmission and the orders saved the first time are returned instead.
    Raises OrderInvalid when the orders would exceed a monthly budget (checked under lock,
    in the transaction that saves them) or when the team policy keeps `user` to the shortlist;
    an order above the approval threshold, or off the shortlist under the "approval" rule, is
    saved `awaiting_approval` and not sent.
    """
    existing = _orders_by_token(tokens)
    if existing:
        return existing
    _campaign_check(campaign)
    now = timezone.now()
    orders = [
        _order_from_draft(d, user=user, campaign=campaign, token=t, now=now)
        for d, t in zip(drafts, tokens, strict=True)
    ]
    off_shortlist = shortlist_check(orders=orders, user=_person(user))
    waits = [
        approval_reasons(order, campaign, shortlisted=order.service_id not in off_shortlist)
        for order in orders
    ]
    for order, reasons in zip(orders, waits, strict=True):
        if reasons:
            order.status = OrderStatus.AWAITING_APPROVAL
    try:
        with transaction.atomic():
            budgets_check(orders=orders, user=_person(user), campaign=campaign)
            Order.objects.bulk_create(orders)
            OrderEvent.objects.bulk_create(
                [
                    _event(
                        order,
                        EventKind.CREATED,
                        f"Estimated {money(order.estimated_charge)}{_waiting_for(reasons)}",
                        user=user,
                        at=now,
                    )
                    for order, reasons in zip(orders, waits, strict=True)
                ]  # fmt: skip
            )
            for order in orders:
                audit_record(
                    action=AuditAction.ORDER_PLACED,
                    actor=user,
                    ip=ip,
                    target=order,
                    after=_audited(order),
                )
            ids = [order.pk for order in orders if order.status == OrderStatus.QUEUED]
            if enqueue and ids:
                transaction.on_commit(lambda: _enqueue_submits(ids), robust=True)
    except IntegrityError:
        # The same form posted twice at once: the other request saved it first.
        existing = _orders_by_token(tokens)
        if not existing:
            raise
        return existing
    return orders


def _waiting_for(reasons: list[str]) -> str:
    """The end of a CREATED event's message: whether and why the order waits for approval."""
    if not reasons:
        return ""
    # The threshold alone is the usual case and says nothing the amount does not.
    if reasons == [ABOVE_THRESHOLD]:
        return "; waits for approval"
    return f"; waits for approval: {' and '.join(reasons)}"


def _campaign_check(campaign: Campaign | None) -> None:
    if campaign is None:
        return
    today = timezone.localdate()
    if not campaign.active:
        raise OrderInvalid({"campaign": f"Campaign “{campaign.name}” is closed."})
    if campaign.starts_on and today < campaign.starts_on:
        raise OrderInvalid(
            {"campaign": f"Campaign “{campaign.name}” starts on {campaign.starts_on:%d %b %Y}."}
        )
    if campaign.ends_on and today > campaign.ends_on:
        raise OrderInvalid({"campaign": f"Campaign “{campaign.name}” ended on {campaign.ends_on:%d %b %Y}."})


def _audited(order: Order) -> dict[str, Any]:
    return {
        "status": order.status,
        "service": order.service.service_id,
        "link": order.link,
        "quantity": order.quantity,
        "estimated_charge": str(order.estimated_charge),
        "currency": order.currency,
        "campaign": order.campaign.name if order.campaign else None,
    }


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
    ip: str | None = None,
    submission_token: str = "",
    campaign: Campaign | None = None,
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
    return orders_create(
        drafts=[draft], user=user, ip=ip, tokens=[token], campaign=campaign, enqueue=enqueue
    )[0]
