from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_APPROVED = "order.approved", "Order approved"
    ORDER_DECLINED = "order.declined", "Order declined"
    ORDER_SENT = "order.sent", "Order sent"
    ORDER_RESOLVED = "order.resolved", "Order resolved"
    ORDER_REFILL = "order.refill", "Refill requested"
    ORDER_CANCEL = "order.cancel", "Cancel requested"
    ORDER_CHECK = "order.check", "Check now"
    BUDGET_CHANGED = "budget.changed", "Budget changed"
    CAMPAIGN_CHANGED = "campaign.changed", "Campaign changed"
    PRESET_CHANGED = "preset.changed", "Preset changed"
    SHORTLIST_CHANGED = "shortlist.changed", "Shortlist changed"
    SERVICE_REFILL_CHANGED = "service.refill", "Refill period corrected"
    TEAM_POLICY_CHANGED = "team_policy.changed", "Team policy changed"
    PROVIDER_CREATED = "provider.created", "Provider added"
    PROVIDER_CHANGED = "provider.changed", "Provider changed"
    PROVIDER_KEY_CHANGED = "provider.key_changed", "Provider API key changed"
    PROVIDER_DELETED = "provider.deleted", "Provider deleted"
    USER_CREATED = "user.created", "User added"
    USER_CHANGED = "user.changed", "User changed"
    USER_DELETED = "user.deleted", "User deleted"
    USER_ROLES = "user.roles", "User's roles changed"
    USER_PERMISSIONS = "user.permissions", "User's permissions changed"
    GROUP_PERMISSIONS = "group.permissions", "Role's permissions changed"
    API_KEY_CREATED = "api_key.created", "Team API key made"
    API_KEY_REVOKED = "api_key.revoked", "Team API key revoked"


class AuditImmutable(Exception):
    """The audit log is append-only: an entry is never changed or deleted."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One action that spent or may spend money, or changed who may: who, when, from where, what.

    Append-only: `save()` refuses an existing row and `delete()` always refuses; on PostgreSQL
    the database itself refuses UPDATE and DELETE of a row (migration 0004), whatever the code.
    """

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    # People are deactivated, never deleted: deleting one would have to change their entries.
    # The name is kept apart all the same, so that an entry reads alone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_recent"),
            models.Index(fields=["action", "-at"], name="audit_action_recent"),
            models.Index(fields=["actor", "-at"], name="audit_actor_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.target_label or '—'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("Audit entries cannot be deleted.")

    @property
    def who(self) -> str:
        return self.actor_name or "system"

    @property
    def order_code(self) -> str:
        # An order's label starts with its code (Order.__str__).
        return self.target_label.split(" · ")[0] if self.target_type == "orders.order" else ""
