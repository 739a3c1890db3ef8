"""Campaigns orders belong to, and the monthly budgets that limit what the team spends."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 14, "decimal_places": 5}


class Campaign(models.Model):
    """A piece of marketing work orders may belong to, with an optional monthly budget.

    `approval_threshold`: an order of this campaign costing more waits for an approver
    (empty: the team-wide APPROVAL_THRESHOLD applies).
    """

    name = models.CharField(max_length=120, unique=True)
    client = models.CharField("brand or client", max_length=120, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    monthly_budget = models.DecimalField(null=True, blank=True, help_text="Empty: no limit", **MONEY)
    currency = models.CharField(max_length=10, default="USD")
    approval_threshold = models.DecimalField(
        null=True,
        blank=True,
        help_text="Orders costing more wait for approval; empty: the team setting",
        **MONEY,
    )
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-active", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client})" if self.client else self.name


class Budget(models.Model):
    """A monthly limit: either one person's spend (`user`) or the team's spend with one provider.

    One model with two scopes rather than two models: both are locked and checked the same way
    when an order is placed, and a constraint keeps exactly one scope per row.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="budget"
    )
    provider = models.OneToOneField(
        "providers.Provider", null=True, blank=True, on_delete=models.CASCADE, related_name="budget"
    )
    amount = models.DecimalField("monthly amount", **MONEY)
    currency = models.CharField(max_length=10, default="USD")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, provider__isnull=True)
                | Q(user__isnull=True, provider__isnull=False),
                name="team_budget_one_scope",
            )
        ]

    def __str__(self) -> str:
        if self.user_id:
            return f"Monthly budget of {self.user}"
        return f"Team cap for {self.provider}"
