"""Events worth telling a person, each person's copy, their choices, and the team's endpoints."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from providers import crypto

MONEY = {"max_digits": 14, "decimal_places": 5}


class Kind(models.TextChoices):
    ORDER_UNCONFIRMED = "order_unconfirmed", "An order needs a person (unconfirmed)"
    ORDER_REJECTED = "order_rejected", "An order was rejected"
    ORDER_PARTIAL = "order_partial", "An order was delivered in part"
    ORDER_CANCELED = "order_canceled", "An order was canceled"
    APPROVAL_REQUESTED = "approval_requested", "An order waits for approval"
    APPROVAL_DECIDED = "approval_decided", "An approval was decided"
    BUDGET_REACHED = "budget_reached", "A budget reached 80% or 100%"
    BALANCE_LOW = "balance_low", "A provider's balance runs low"
    CATALOG_CHANGED = "catalog_changed", "A shortlisted or preset service changed"
    SYNC_FAILED = "sync_failed", "A catalog sync keeps failing"
    HEALTH = "health", "The worker or the scheduler stopped"
    REFILL_REFUSED = "refill_refused", "A refill was refused"
    ENDPOINT_DISABLED = "endpoint_disabled", "A webhook or chat endpoint was disabled"


class Choice(models.TextChoices):
    OFF = "off", "Off"
    INBOX = "inbox", "In the product"
    EMAIL = "email", "Email (and in the product)"
    DIGEST = "digest", "Daily digest (and in the product)"


class Event(models.Model):
    """Something that happened, recorded once: `key` is the de-duplication key, so the same
    occurrence announced twice (a retried task, two workers) is one event. Its people's copies
    and its endpoints' deliveries are made with it, and it is never deleted."""

    kind = models.CharField(max_length=30, choices=Kind.choices)
    # Unique by a constraint, not `unique=True`, which would add a LIKE index nothing reads.
    key = models.CharField(max_length=200)
    at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=300)
    # Where the event's subject is shown, as a path of this site.
    url = models.CharField(max_length=300, blank=True)
    # Ids, codes and amounts only: this is what webhooks and chat carry.
    data = models.JSONField(default=dict, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["key"], name="event_once")]

    def __str__(self) -> str:
        return self.title


class Mail(models.TextChoices):
    NONE = "", "No mail"
    NOW = "now", "One mail"
    DIGEST = "digest", "In the daily digest"


class Notification(models.Model):
    """One person's copy of an event: in their inbox, and mailed at once or in the digest."""

    # Made only with its event, in the statement that records it, and deleted with it by the
    # ORM's cascade. No database check: at commit it would lock the event row once more for
    # every copy, the largest part of what recording added to a polling round.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="notifications", db_index=False, db_constraint=False
    )
    # Indexed by `notification_once_per_person` (user, event), which is also the inbox's order.
    # Deleted with its person by the ORM's cascade; no database check, as for `event`.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    read_at = models.DateTimeField(null=True, blank=True)
    mail = models.CharField(max_length=10, choices=Mail.choices, blank=True, default=Mail.NONE)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-event_id"]
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="notification_once_per_person")]
        indexes = [
            models.Index(
                fields=["user"], name="notification_unread", condition=models.Q(read_at__isnull=True)
            ),
            # Only the copies that still wait for their mail are in these two.
            models.Index(
                fields=["event"],
                name="notification_to_mail",
                condition=models.Q(mail="now", mailed_at__isnull=True),
            ),
            models.Index(
                fields=["user"],
                name="notification_to_digest",
                condition=models.Q(mail="digest", mailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.user}"


class Preference(models.Model):
    """How one person hears about one kind of event; without a row, the kind's default applies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    choice = models.CharField(max_length=10, choices=Choice.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="preference_once")]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} → {self.choice}"


class BalanceAlert(models.Model):
    """A provider's low-balance threshold: below it (or when the balance lasts at most
    NOTIFY_BALANCE_DAYS at this week's pace) the managers are told."""

    provider = models.OneToOneField("providers.Provider", on_delete=models.CASCADE, related_name="+")
    threshold = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{self.provider}: below {self.threshold}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_secret_encrypted() -> str:
    return crypto.encrypt(new_secret())


class Endpoint(models.Model):
    """Where the team's events go besides people: a chat's incoming webhook (Slack, Mattermost,
    Rocket.Chat) or a signed webhook for the team's own tools; for the whole team or one campaign.

    The signing secret and the URL (a chat hook's URL holds its token) are stored only as Fernet
    tokens of `providers.crypto`, like a provider's API key. Setting `url` or `secret` (also as
    `Endpoint(url=…)`) encrypts it; reading them gives the masked form. Only the sender reads the
    plain values, through `_url()` and `_secret()`, which templates cannot reach.
    """

    class Type(models.TextChoices):
        CHAT = "chat", "Chat (Slack-compatible incoming webhook)"
        WEBHOOK = "webhook", "Signed webhook"

    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=Type.choices)
    url_encrypted = models.TextField(editable=False)
    secret_encrypted = models.TextField(editable=False, default=new_secret_encrypted)
    campaign = models.ForeignKey(
        "team.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Empty: every kind.
    kinds = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def _set_url(self, url: str) -> None:
        self.url_encrypted = crypto.encrypt(url)

    def _set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret)

    # Set: encrypted at once. Read (a template, the admin, a log line): the masked form.
    url = property(lambda self: self.masked_url, _set_url)
    secret = property(lambda self: self.masked_secret, _set_secret)

    def _url(self) -> str:
        return crypto.decrypt(self.url_encrypted)

    def _secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @property
    def masked_url(self) -> str:
        return crypto.masked(self.url_encrypted)

    @property
    def masked_secret(self) -> str:
        return crypto.masked(self.secret_encrypted)

    def wants(self, kind: str, campaign_id: int | None) -> bool:
        # Also written in SQL, for recording on PostgreSQL: recording._ENDPOINT_WANTS.
        if not self.active or (self.kinds and kind not in self.kinds):
            return False
        return self.campaign_id is None or self.campaign_id == campaign_id


# A delivery carries at most this many events: a polling round's thousand moves are ten
# requests to each endpoint (ten chat messages), not a thousand.
EVENTS_PER_DELIVERY = 100


class Delivery(models.Model):
    """Up to EVENTS_PER_DELIVERY events sent to one endpoint in one request, with every attempt's
    outcome; the receiver de-duplicates by `delivery_id`, which stays the same across retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # Indexed by `delivery_log` (endpoint, -id), the endpoint's delivery log.
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # The events' ids, oldest first, recorded with the events (events are never deleted).
    event_ids = models.JSONField(default=list)
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{len(self.event_ids)} event(s) → {self.endpoint}"
