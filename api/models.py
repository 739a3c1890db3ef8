"""API keys, and the orders placed with them (which make a retried `add` safe)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKey(models.Model):
    """A person's key to the team API; it acts with its owner's role and nothing more.

    Only a digest of the key is stored: the key itself is shown once, when it is made. The
    prefix is its first characters, to recognise it in a list. `window_*` count this minute's
    requests for the rate limit, in the row itself so that every web process shares the count.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField("last used from", null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"“{self.name}” ({self.prefix}…)"

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class ApiOrder(models.Model):
    """An order placed through the API, by which key and from what request.

    `fingerprint` digests the request's order fields: the same `add` again by the same key within
    a minute is a client's retry and gets this order back. `idempotency_key` is the client's own.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="orders")
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="api_order")
    fingerprint = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["key", "fingerprint", "-created_at"], name="api_order_retry")]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="api_order_idempotency",
            )
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id} by key {self.key_id}"
