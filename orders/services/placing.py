"""Validating an order and saving orders as queued, exactly once per submission."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from catalog.models import MAX_QUANTITY, Service
from catalog.platforms import Platform
from jappanel.events import Occurrence, announce
from orders.links import link_normalise
from orders.models import (
    COLUMN_FIELDS,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
    Submission,
)
from orders.services.common import (
    ACCURACY,
    LINE_COUNTED,
    PACKAGE_TYPES,
    ZERO,
    OrderInvalid,
    User,
    money,
    sentence,
)
from orders.services.lifecycle import order_event, orders_send_on_commit, person_or_none
from orders.services.policy import ABOVE_THRESHOLD, approvals_needed, shortlist_check
from orders.services.spend import budgets_check
from providers.client import (
    OrderFieldError,
    validate_order_fields,
)
from providers.client.orders import LINES_FIELDS
from providers.models import Provider
from team.models import Campaign

logger = logging.getLogger(__name__)

# Bounds that hold whatever a service allows: a drip-feed of at most 1,000 runs at most a week
# apart, counts that fit their columns. (highest, the sentence when above it)
NUMBER_LIMITS: dict[str, tuple[int, str]] = {
    "runs": (1_000, "At most 1,000 runs."),
    "interval": (7 * 24 * 60, "At most 10,080 minutes (a week) between runs."),
    "answer_number": (1_000, "Answer numbers go up to 1,000."),
    "posts": (10_000, "At most 10,000 posts."),
    "old_posts": (10_000, "At most 10,000 old posts."),
    **dict.fromkeys(("quantity", "min", "max"), (MAX_QUANTITY, f"At most {MAX_QUANTITY:,}.")),
}
# Text fields: their column's length, else MAX_TEXT; a list field (one item per line) holds at
# most MAX_LIST_LINES lines and MAX_LIST_CHARACTERS characters.
TEXT_LIMITS = {
    name: Order._meta.get_field(name).max_length
    for name in COLUMN_FIELDS
    if Order._meta.get_field(name).max_length
}
MAX_TEXT = 255
MAX_LIST_LINES = 1_000
MAX_LIST_CHARACTERS = 100_000
URL_FIELDS = frozenset({"link", "media", "referring_url"})
# The most one order can cost: what its `estimated_charge` column holds.
_charge = Order._meta.get_field("estimated_charge")
MAX_CHARGE = (
    Decimal(10) ** (_charge.max_digits - _charge.decimal_places) - Decimal(10) ** -_charge.decimal_places
)


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


FULL_LINK = "Enter a full link, such as https://example.com/page."
_URL = URLValidator(schemes=["http", "https"])
# Never part of a link we send: they close an attribute or a cell, or start markup.
_NOT_IN_LINKS = frozenset("\"'`<>\\")


def url_error(link: str) -> str | None:
    """Why `link` is not a web address (scheme, host with a domain, no spaces, quotes or
    credentials), or None. A link typed without a scheme is read as https."""
    if any(ch.isspace() for ch in link):
        return "A link has no spaces."
    url = link if "://" in link else f"https://{link}"
    try:
        _URL(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
    except (ValidationError, ValueError):
        return FULL_LINK
    if "." not in host:
        return FULL_LINK
    if parts.username is not None or parts.password is not None:
        return "A link carries no user name or password."
    if _NOT_IN_LINKS & set(link):
        return "A link has no quotes, backslashes or angle brackets."
    return None


def link_error(link: str, platform: str) -> str | None:
    """Why `link` is not a link for `platform`, or None when it looks right."""
    problem = url_error(link)
    if problem:
        return problem
    host = (urlsplit(link if "://" in link else f"https://{link}").hostname or "").lower()
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
    # Wide enough for any stored line (a preset saved before runs were bounded): an estimate
    # is checked against what an order can cost, it never fails to compute.
    with localcontext(prec=80):
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


def _whole(value: Any) -> int | None:
    """A field's value as a whole number, if it is one (values that failed cleaning are not)."""
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return None


def _control_character(text: str, *, lines: bool) -> bool:
    # NUL and friends break PostgreSQL text or a page; lone surrogates (from undecodable
    # command-line bytes) cannot be stored at all. A line break separates the items of a list.
    return any(unicodedata.category(ch) in ("Cc", "Cs") and not (lines and ch == "\n") for ch in text)


def limit_errors(service: Service, fields: Mapping[str, Any]) -> dict[str, str]:
    """What in `fields` is beyond the bounds that hold whatever a service allows: drip-feed only
    for drip-feed services, runs, intervals and counts bounded, texts within their columns, no
    control characters, links that are web addresses. The service's own bounds are checked
    by `order_validate` as well."""
    errors: dict[str, str] = {}
    if not service.dripfeed and ("runs" in fields or "interval" in fields):
        errors["runs"] = "This service has no drip-feed: leave runs and interval empty."
    for name, (highest, message) in NUMBER_LIMITS.items():
        value = _whole(fields.get(name))
        if value is not None and value > highest:
            errors.setdefault(name, message)
    for name, value in fields.items():
        problem = _text_error(name, value, platform=service.platform) if isinstance(value, str) else None
        if problem:
            errors.setdefault(name, problem)
    return errors


def _text_error(name: str, text: str, *, platform: str) -> str | None:
    listed = name in LINES_FIELDS
    longest = TEXT_LIMITS.get(name, MAX_LIST_CHARACTERS if listed else MAX_TEXT)
    if _control_character(text, lines=listed):
        return "No control characters, please."
    if listed and len(text.splitlines()) > MAX_LIST_LINES:
        return f"At most {MAX_LIST_LINES:,} lines; this has {len(text.splitlines()):,}."
    if len(text) > longest:
        return f"At most {longest:,} characters; this has {len(text):,}."
    if name == "link":
        return link_error(text, platform)
    return url_error(text) if name in URL_FIELDS else None


def uncharged_total(*, provider: Provider) -> Decimal:
    """Estimates of the provider's orders not yet sent: the last known balance does not show them."""
    total = Order.objects.filter(
        provider=provider,
        status__in=(OrderStatus.QUEUED, OrderStatus.WAITING_FOR_LINK, OrderStatus.SUBMITTING),
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
        errors.update({name: sentence(text) for name, text in exc.errors.items()})
        cleaned = {name: value for name, value in given.items() if name not in exc.errors}
    # Every problem at once: a wrong link must not hide a quantity out of bounds. The service's
    # own bounds say most, so they come first.
    for problems in (_bounds_errors(service, cleaned), limit_errors(service, cleaned)):
        for name, problem in problems.items():
            errors.setdefault(name, problem)
    if errors:
        raise OrderInvalid(errors)
    estimate = order_estimate(service=service, fields=cleaned)
    if estimate > MAX_CHARGE:
        raise OrderInvalid(
            {
                "__all__": f"This order would cost {money(estimate, provider.currency)}: more than one "
                f"order can cost ({MAX_CHARGE:,}). Order less, or in several orders."
            }
        )
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
    draft: OrderDraft, *, user: User | None, campaign: Campaign | None, now: datetime
) -> Order:
    columns = {name: draft.fields[name] for name in COLUMN_FIELDS if name in draft.fields}
    extra = {name: value for name, value in draft.fields.items() if name not in COLUMN_FIELDS}
    columns["quantity"] = draft.quantity
    return Order(
        provider=draft.service.provider,
        service=draft.service,
        campaign=campaign,
        user=person_or_none(user),
        estimated_charge=draft.estimate,
        currency=draft.service.provider.currency,
        created_at=now,
        status_changed_at=now,
        extra=extra,
        link_key=link_normalise(str(columns.get("link", ""))),
        **columns,
    )


def fingerprint(content: object) -> str:
    """A digest of submitted content (JSON-able; dates, decimals and models as their text)."""
    text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Submitted:
    """What a person submitted: the form's token (or a command's key) and its content.

    `content` is what makes two posts the same submission; `placed` is the part of it that is
    placed when that is less (a mass order skips its bad lines), so that posting only that part
    again is recognised too.
    """

    token: str
    content: object
    placed: object = field(default=None)

    def fingerprints(self, *, user: User | None, campaign: Campaign | None) -> tuple[str, str]:
        """Digests of the content and of its placed part, with who placed it and for what campaign."""
        person = person_or_none(user)
        scope = {"user": person.pk if person else None, "campaign": campaign.pk if campaign else None}
        posted = fingerprint({**scope, "content": self.content})
        return posted, posted if self.placed is None else fingerprint({**scope, "content": self.placed})


class SubmissionConflict(OrderInvalid):
    """The token placed orders already, for other content: nothing more is placed."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.orders = list(orders)
        count = f"{len(self.orders)} order{'s' if len(self.orders) != 1 else ''}"
        codes = ", ".join(order.code for order in self.orders)
        super().__init__(
            {
                "__all__": f"This form already placed {count} ({codes}), and what was sent now "
                "differs from it: nothing more was placed. Open a new form to place more."
            }
        )


def submission_orders(token: str) -> list[Order]:
    """The orders the submission with `token` placed, in their order (none for an unknown token)."""
    submission = Submission.objects.filter(token=token).first() if token else None
    return submission.orders() if submission is not None else []


def _placed_before(token: str, fingerprints: tuple[str, str]) -> list[Order] | None:
    """The orders of a submission seen before, or None; SubmissionConflict when its content differs."""
    submission = Submission.objects.filter(token=token).first()
    if submission is None:
        return None
    if not {submission.fingerprint, submission.placed_fingerprint} & set(fingerprints):
        raise SubmissionConflict(submission.orders())
    return submission.orders()


def orders_create(
    *,
    submitted: Submitted,
    drafts: Callable[[], Sequence[OrderDraft]],
    user: User | None = None,
    ip: str | None = None,
    campaign: Campaign | None = None,
    enqueue: bool = True,
) -> list[Order]:
    """Place what a person submitted: save its drafts as queued orders (with their events) and,
    after commit, send them. Every path that creates orders comes through here.

    A token seen before returns the orders it placed, before anything is checked again (those
    orders now count against the balance and budgets, and would make the same post look
    unaffordable); the same token with other content raises SubmissionConflict. Otherwise
    `drafts()` validates the submission (raising OrderInvalid), and the orders are refused with
    OrderInvalid when they would exceed a monthly budget (checked under lock, in the transaction
    that saves them) or when the team policy keeps `user` to the shortlist; an order above the
    approval threshold, or off the shortlist under the "approval" rule, is saved
    `awaiting_approval` and not sent.
    """
    fingerprints = submitted.fingerprints(user=user, campaign=campaign)
    placed = _placed_before(submitted.token, fingerprints)
    if placed is not None:
        return placed
    valid = list(drafts())
    if not valid:
        raise OrderInvalid({"__all__": "Nothing to place."})
    person = person_or_none(user)
    _campaign_check(campaign, person)
    now = timezone.now()
    orders = [_order_from_draft(draft, user=user, campaign=campaign, now=now) for draft in valid]
    waits = approvals_needed(orders, campaign, off_shortlist=shortlist_check(orders=orders, user=person))
    for order, reasons in zip(orders, waits, strict=True):
        if reasons:
            order.status = OrderStatus.AWAITING_APPROVAL
    try:
        with transaction.atomic():
            # The submission first: a second post racing this one waits on its unique token,
            # then fails, rather than being counted against the budgets as more spending.
            submission = Submission.objects.create(
                token=submitted.token,
                fingerprint=fingerprints[0],
                placed_fingerprint=fingerprints[1],
                user=person,
            )
            budgets_check(orders=orders, user=person, campaign=campaign)
            Order.objects.bulk_create(orders)
            submission.order_ids = [order.pk for order in orders]
            submission.save(update_fields=["order_ids"])
            OrderEvent.objects.bulk_create(
                [
                    order_event(
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
            announce(Occurrence("order.placed", f"order:{o.pk}:placed", {"order_id": o.pk}) for o in orders)
            if enqueue:
                orders_send_on_commit(order.pk for order in orders if order.status == OrderStatus.QUEUED)
    except IntegrityError:
        # The same form posted twice at once: the other request saved it first.
        placed = _placed_before(submitted.token, fingerprints)
        if placed is None:
            raise
        return placed
    return orders


def _waiting_for(reasons: list[str]) -> str:
    """The end of a CREATED event's message: whether and why the order waits for approval."""
    if not reasons:
        return ""
    # The threshold alone is the usual case and says nothing the amount does not.
    if reasons == [ABOVE_THRESHOLD]:
        return "; waits for approval"
    return f"; waits for approval: {' and '.join(reasons)}"


def _campaign_check(campaign: Campaign | None, person: User | None) -> None:
    if campaign is None:
        return
    if not campaign.takes_orders_from(person):
        raise OrderInvalid(
            {
                "campaign": f"Campaign “{campaign.name}” takes orders from its members only: "
                "ask a manager to add you."
            }
        )
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
    """Validate one order, save it `queued` and send it after commit (unless `enqueue` is off).

    A `submission_token` seen before returns the order saved then, unchanged: a double click
    or a resubmitted form never makes a second order. Raises OrderInvalid (SubmissionConflict
    when the token placed an order with other fields).
    """
    given = {"link": link, "quantity": quantity, **(fields or {})}
    content = {
        "service": service.pk,
        "fields": {name: value for name, value in given.items() if value not in (None, "")},
    }
    return orders_create(
        submitted=Submitted(token=submission_token or secrets.token_urlsafe(24), content=content),
        drafts=lambda: [
            order_validate(
                service=service, fields=given, already_committed=uncharged_total(provider=service.provider)
            )
        ],
        user=user,
        ip=ip,
        campaign=campaign,
        enqueue=enqueue,
    )[0]
