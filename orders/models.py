"""Orders placed with a provider, their history, refills and cancel requests."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

MONEY = {"max_digits": 14, "decimal_places": 5}
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: codes are read aloud and typed
CODE_LENGTH = 10
# JAP refuses a refill asked within this long of the order's completion or of the last refill.
REFILL_COOLDOWN = timedelta(hours=24)

Status = TypeVar("Status", bound=models.TextChoices)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class OrderStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval"
    QUEUED = "queued", "Queued"
    WAITING_FOR_LINK = "waiting_for_link", "Waiting for the link"
    SUBMITTING = "submitting", "Submitting"
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    PROCESSING = "processing", "Processing"
    OTHER = "other", "Other (see the provider's status)"
    PARTIAL = "partial", "Partial"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"
    REJECTED = "rejected", "Rejected"
    UNCONFIRMED = "unconfirmed", "Unconfirmed"
    DECLINED = "declined", "Declined"


FINAL_STATUSES = frozenset(
    {
        OrderStatus.PARTIAL,
        OrderStatus.COMPLETED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.DECLINED,
    }
)
# Statuses of an order that is ours and not finished, which may be with the panel or go there:
# a second order on the same link and service waits while one of these is open (see
# orders.services.links). An order waiting for approval is not on its way yet.
LINK_OPEN_STATUSES = frozenset(
    {
        OrderStatus.QUEUED,
        OrderStatus.WAITING_FOR_LINK,
        OrderStatus.SUBMITTING,
        OrderStatus.UNCONFIRMED,
        OrderStatus.PENDING,
        OrderStatus.IN_PROGRESS,
        OrderStatus.PROCESSING,
        OrderStatus.OTHER,
    }
)
# Statuses with a provider order id whose progress the poller follows.
TRACKED_STATUSES = frozenset(
    {OrderStatus.PENDING, OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING, OrderStatus.OTHER}
)
# Statuses that show the panel started delivering: the first answer with one of them is when
# the order started (`Order.started_at`).
STARTED_STATUSES = frozenset(
    {OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING, OrderStatus.PARTIAL, OrderStatus.COMPLETED}
)
# Orders whose money is spent or promised: their charge once the provider reports it, the
# estimate until then. Unconfirmed ones count: the panel may have taken them.
SPENDING_STATUSES = frozenset(
    {
        OrderStatus.AWAITING_APPROVAL,
        OrderStatus.QUEUED,
        OrderStatus.WAITING_FOR_LINK,
        OrderStatus.SUBMITTING,
        OrderStatus.UNCONFIRMED,
        OrderStatus.PENDING,
        OrderStatus.IN_PROGRESS,
        OrderStatus.PROCESSING,
        OrderStatus.OTHER,
        OrderStatus.COMPLETED,
    }
)
# Final statuses whose charge, if the panel reported one, came back in full.
REFUNDED_STATUSES = frozenset(OrderStatus) - SPENDING_STATUSES - {OrderStatus.PARTIAL}
# Orders still on their way, with no charge reported yet: their estimate is promised, not charged.
COMMITTED_STATUSES = SPENDING_STATUSES - {OrderStatus.COMPLETED}
# Orders that move by themselves (a worker or the poller changes them): the pages refresh these.
MOVING_STATUSES = frozenset(
    {
        OrderStatus.QUEUED,
        OrderStatus.WAITING_FOR_LINK,
        OrderStatus.SUBMITTING,
        OrderStatus.PENDING,
        OrderStatus.IN_PROGRESS,
        OrderStatus.PROCESSING,
        OrderStatus.OTHER,
    }
)
# Not finished: moving, or waiting for a person (an approver, or someone to resolve it).
OPEN_STATUSES = MOVING_STATUSES | {OrderStatus.UNCONFIRMED, OrderStatus.AWAITING_APPROVAL}
# Delivered, in full or in part.
DELIVERED_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.PARTIAL})
# Orders the panel was asked to take: the local states before sending (waiting for approval,
# queued, submitting, declined) say nothing of a service.
SENT_STATUSES = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.IN_PROGRESS,
        OrderStatus.PROCESSING,
        OrderStatus.OTHER,
        OrderStatus.PARTIAL,
        OrderStatus.COMPLETED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.UNCONFIRMED,
    }
)
# Orders whose delivery is over: the base of the delivered share of quantity.
DELIVERY_OVER_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.CANCELED})
# How far along an order is: a status answer never moves an order to a lower rank, so an older
# answer that arrives late cannot undo a newer one. Equal ranks may replace each other.
STATUS_RANK = {
    OrderStatus.AWAITING_APPROVAL: -1,
    OrderStatus.QUEUED: 0,
    OrderStatus.WAITING_FOR_LINK: 0,
    OrderStatus.SUBMITTING: 1,
    OrderStatus.UNCONFIRMED: 2,
    OrderStatus.PENDING: 3,
    OrderStatus.IN_PROGRESS: 4,
    OrderStatus.PROCESSING: 4,
    OrderStatus.OTHER: 4,
    **dict.fromkeys(FINAL_STATUSES, 9),
}
# The provider's status strings; anything else is kept in `provider_status` as OTHER.
PROVIDER_STATUSES = {
    "pending": OrderStatus.PENDING,
    "in progress": OrderStatus.IN_PROGRESS,
    "processing": OrderStatus.PROCESSING,
    "partial": OrderStatus.PARTIAL,
    "completed": OrderStatus.COMPLETED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "refunded": OrderStatus.CANCELED,
}


def status_from_provider(
    text: str, statuses: Mapping[str, Status] = PROVIDER_STATUSES, other: Status = OrderStatus.OTHER
) -> Status:
    """Ours for the provider's status word (any case, spaces around it); `other` for a word not known:
    an order's status by default, a refill's with PROVIDER_REFILL_STATUSES and RefillStatus.OTHER."""
    return statuses.get(text.strip().lower(), other)


# `add` fields with a column of their own; every other field of the type lives in `extra`.
COLUMN_FIELDS = (
    "link",
    "quantity",
    "runs",
    "interval",
    "comments",
    "usernames",
    "hashtags",
    "hashtag",
    "username",
    "media",
    "answer_number",
    "groups",
    "keywords",
)


class Order(models.Model):
    """One order for one service of one provider, from the form to the provider's last answer.

    `status` is ours (queued, submitting, unconfirmed, rejected) until the panel took the order,
    then the provider's (`provider_status` keeps its exact words). `estimated_charge` is what we
    expected to pay; `charge` what the provider reports.
    """

    Status = OrderStatus

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    # Every index is rewritten when the poller moves `next_check_at`: those covered by a
    # composite index below (provider, user) are left out.
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    service = models.ForeignKey("catalog.Service", on_delete=models.PROTECT, related_name="orders")
    campaign = models.ForeignKey(
        "team.Campaign", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    # People are deactivated, never deleted: an order keeps who placed it (here and on its
    # events, refills and cancels).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
    )
    link = models.CharField(max_length=500, blank=True)
    # `link` normalised (orders.links.link_normalise): orders on one link share it.
    # A default in the database too: rows written by COPY or raw SQL need not name it.
    link_key = models.CharField(max_length=500, blank=True, default="", db_default="", editable=False)
    quantity = models.BigIntegerField(null=True, blank=True)
    runs = models.PositiveIntegerField(null=True, blank=True)
    interval = models.PositiveIntegerField(null=True, blank=True, help_text="Minutes between runs")
    comments = models.TextField(blank=True)
    usernames = models.TextField(blank=True)
    hashtags = models.TextField(blank=True)
    hashtag = models.CharField(max_length=255, blank=True)
    username = models.CharField(max_length=255, blank=True)
    media = models.CharField(max_length=500, blank=True)
    answer_number = models.PositiveIntegerField(null=True, blank=True)
    groups = models.TextField(blank=True)
    keywords = models.TextField(blank=True)
    # Subscription and web-traffic fields (min, max, posts, delay, expiry, country, device, ...).
    extra = models.JSONField(default=dict, blank=True)

    estimated_charge = models.DecimalField(**MONEY)
    charge = models.DecimalField("provider's charge", null=True, blank=True, **MONEY)
    currency = models.CharField(max_length=10, default="USD")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.QUEUED)
    provider_status = models.CharField(max_length=50, blank=True)
    provider_order_id = models.BigIntegerField(null=True, blank=True)
    start_count = models.BigIntegerField(null=True, blank=True)
    remains = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    needs_attention = models.BooleanField(default=False)
    decline_reason = models.TextField(blank=True)

    submission_token = models.CharField(max_length=100, unique=True, default=secrets.token_urlsafe)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="When the panel took the order")
    # Set by polling, to within one polling step: the panel tells no time of its own.
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a status answer first showed progress (in progress, partial…)"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # The end of the refill guarantee: completion (`finished_at`) plus the service's refill
    # period, set when a completed or partial order of a refillable service turns final.
    refill_until = models.DateTimeField("refill guarantee until", null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # What a role may do with orders; jappanel/access.py maps each action to one of these.
        permissions = [
            ("place_order", "Can place orders and mass orders"),
            ("act_on_own_order", "Can refill, cancel and check their own orders"),
            ("act_on_any_order", "Can refill, cancel and check anyone's orders"),
            ("resolve_order", "Can resolve unconfirmed orders"),
            ("approve_order", "Can approve or decline orders waiting for approval"),
        ]
        constraints = [
            # NULLs are distinct: any number of orders not placed yet.
            models.UniqueConstraint(
                fields=["provider", "provider_order_id"], name="orders_one_order_per_provider_id"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_check_at"], condition=Q(next_check_at__isnull=False), name="orders_due"
            ),
            models.Index(fields=["status", "-created_at"], name="orders_status_recent"),
            models.Index(fields=["user", "-created_at"], name="orders_user_recent"),
            models.Index(fields=["-created_at", "-id"], name="orders_recent"),
            models.Index(
                fields=["-created_at"], condition=Q(needs_attention=True), name="orders_needing_attention"
            ),
            # The open orders on one link of one service: few rows, and final orders leave it.
            models.Index(
                fields=["service", "link_key"],
                condition=Q(status__in=sorted(LINK_OPEN_STATUSES)),
                name="orders_open_on_link",
            ),
            # The Refills due page, expiring soonest first; polled orders have none and never
            # touch it.
            models.Index(
                fields=["refill_until", "id"],
                condition=Q(refill_until__isnull=False),
                name="orders_refill_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.service.name if self.service_id else ''}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_tracked(self) -> bool:
        return self.status in TRACKED_STATUSES and self.provider_order_id is not None

    def can_refill(self) -> bool:
        # The panel's flag, or a period a manager set for a service the panel does not flag.
        return (
            (self.service.refill or bool(self.service.refill_days_override))
            and self.provider_order_id is not None
            and self.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
        )

    @property
    def refill_from(self) -> datetime | None:
        """The earliest moment the panel takes a refill: JAP refuses one within a day of completion."""
        return self.finished_at + REFILL_COOLDOWN if self.finished_at else None

    def in_refill_window(self, now: datetime | None = None) -> bool:
        return self.refill_until is not None and self.refill_until > (now or timezone.now())

    def can_cancel(self) -> bool:
        return self.service.cancel and self.is_tracked

    def can_stop_waiting(self) -> bool:
        return self.status == OrderStatus.WAITING_FOR_LINK

    def can_resolve(self) -> bool:
        return self.status == OrderStatus.UNCONFIRMED

    def add_fields(self) -> dict[str, Any]:
        """The `add` fields of this order (besides `service`), as validated when it was placed."""
        fields = {name: getattr(self, name) for name in COLUMN_FIELDS}
        fields.update(self.extra)
        return {name: value for name, value in fields.items() if value not in (None, "")}


class Submission(models.Model):
    """One thing a person submitted (an order form, a mass order, a preset applied to links, a
    command run with a key): the unit of "exactly once".

    `token` comes with the form (or is the command's key). `fingerprint` is a digest of what was
    submitted and `placed_fingerprint` of the part that was placed (a mass order skips its bad
    lines; elsewhere both are equal). The same token again with either content returns the
    orders placed the first time; with any other content it is refused.
    """

    token = models.CharField(max_length=100, unique=True)
    fingerprint = models.CharField(max_length=64)
    placed_fingerprint = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The orders placed, in their order. Ids here rather than a key on the orders: their table
    # is the largest and is rewritten by every polling round; it gets no index more for this.
    order_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Submission of {len(self.order_ids)} orders at {self.created_at:%Y-%m-%d %H:%M}"

    def orders(self) -> list[Order]:
        """The orders it placed, in the order they were placed."""
        found = Order.objects.select_related("service", "provider").in_bulk(self.order_ids)
        return [found[pk] for pk in self.order_ids if pk in found]


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    SUBMITTING = "submitting", "Sending to the provider"
    ACCEPTED = "accepted", "Accepted by the provider"
    RETRY = "retry", "Provider unreachable, will retry"
    REJECTED = "rejected", "Rejected"
    UNCONFIRMED = "unconfirmed", "Outcome unknown"
    STATUS = "status", "Status changed"
    ERROR = "error", "Provider error"
    RESOLVED = "resolved", "Resolved by a person"
    WAITING = "waiting", "Waiting for approval"
    LINK_WAIT = "link_wait", "Waiting behind an open order on the same link"
    LINK_FREE = "link_free", "The link is free: sending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    CHECK = "check", "Check requested"
    REFILL = "refill", "Refill"
    CANCEL = "cancel", "Cancel"


class OrderEvent(models.Model):
    """One thing that happened to an order: a status change or an action, when and by whom."""

    Kind = EventKind

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", db_index=False)
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="orders_event_timeline")]

    def __str__(self) -> str:
        change = f" {self.from_status} → {self.to_status}" if self.from_status != self.to_status else ""
        return f"{self.get_kind_display()}{change}"


class RefillStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    OTHER = "other", "Other (see the provider's status)"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Not sent"
    # The panel answered with a refusal ("Refill is disabled for this service", "The refill
    # task is not completed for this order"): an outcome, not an error.
    REFUSED = "refused", "Refused by the panel"
    # The request may have reached the panel (no answer): never asked again by itself.
    UNCONFIRMED = "unconfirmed", "Outcome unknown"


FINAL_REFILL_STATUSES = frozenset(
    {RefillStatus.COMPLETED, RefillStatus.REJECTED, RefillStatus.FAILED, RefillStatus.REFUSED}
)
PROVIDER_REFILL_STATUSES = {
    "pending": RefillStatus.PENDING,
    "in progress": RefillStatus.IN_PROGRESS,
    "completed": RefillStatus.COMPLETED,
    "rejected": RefillStatus.REJECTED,
}


class Refill(models.Model):
    """A refill asked for an order: the provider's refill id and its progress, or why it failed."""

    Status = RefillStatus

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refills", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    provider_refill_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RefillStatus.choices, default=RefillStatus.PENDING)
    provider_status = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_check_at"], condition=Q(next_check_at__isnull=False), name="orders_refill_due"
            ),
            models.Index(fields=["order", "-requested_at"], name="orders_refill_of_order"),
        ]

    def __str__(self) -> str:
        return f"Refill of {self.order.code} ({self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_REFILL_STATUSES


class CancelRequest(models.Model):
    """One cancel request for one order and the provider's answer to it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="cancel_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    accepted = models.BooleanField(null=True, help_text="Empty when the answer is unknown")
    answer = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Cancel of {self.order.code}"
