"""Campaigns orders belong to, the monthly budgets that limit what the team spends, and the
team policy (who may order off the shortlist)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 14, "decimal_places": 5}


class CampaignQuerySet(models.QuerySet):
    def open_to(self, user: Any) -> CampaignQuerySet:
        """The campaigns `user` may order for: every one not restricted, and theirs."""
        if user is None or user.is_superuser:
            return self
        if not user.is_authenticated:
            return self.filter(members_only=False)
        return self.filter(Q(members_only=False) | Q(members=user)).distinct()


class Campaign(models.Model):
    """A piece of marketing work orders may belong to, with an optional monthly budget.

    `approval_threshold`: an order of this campaign costing more waits for an approver; the
    team-wide APPROVAL_THRESHOLD applies as well, so the stricter of the two decides.
    `members_only`: only its `members` (and superusers) may order for it.
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
        help_text="Orders costing more wait for approval (the team setting applies too, "
        "whichever is lower); empty: the team setting only",
        **MONEY,
    )
    members_only = models.BooleanField(
        "members only", default=False, help_text="Only the members below may order for this campaign"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="campaigns", help_text="Who may order for it"
    )
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    auto_refill_every_days = models.PositiveSmallIntegerField(
        "auto-refill every (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Ask a refill of each of its orders inside their refill guarantee this often; "
        "empty: never by itself",
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-active", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client})" if self.client else self.name

    def takes_orders_from(self, user: Any) -> bool:
        """Whether `user` may order for this campaign (None: the system, a command run by an operator)."""
        if not self.members_only or user is None or user.is_superuser:
            return True
        return user.is_authenticated and self.members.filter(pk=user.pk).exists()


class Budget(models.Model):
    """A monthly limit: either one person's spend (`user`) or the team's spend with one provider.

    One model with two scopes rather than two models: both are locked and checked the same way
    when an order is placed, and a constraint keeps exactly one scope per row.
    """

    # People and providers are deactivated, never deleted: a budget never goes with them.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="budget"
    )
    provider = models.OneToOneField(
        "providers.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="budget"
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


class CredentialsSetBy(models.Model):
    """Who, other than the person, last set their password, their role or their email address.

    Read by the four-eyes rule (orders.services.approvals.requesters_barred_for): whoever set an
    approver's password may know it and sign in as them, so the approver never decides on that
    person's orders, even after changing the password (the one who knew it could have been the
    one changing it); it moves to whoever sets the password next. Whoever gave them their role
    is barred until the approver sets a password of their own. A password set with nobody signed
    in (the emailed reset link, a shell) counts as set by whoever set the email address.
    Kept up to date by team.signals, whatever sets them (our pages, the admin, commands).
    """

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="credentials_set_by",
    )
    password_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    role_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "who set a person's credentials"

    def __str__(self) -> str:
        return f"Credentials of {self.person}"


def credentials_record(
    row: Any,
    *,
    person_id: int,
    by_id: int | None,
    password: bool = False,
    role: bool = False,
    email: bool = False,
) -> None:
    """Apply to `row` (a CredentialsSetBy, also a migration's) that `by_id` set the person's
    password, role or email; `by_id` None: nobody signed in. What the person does themselves
    counts as done by whoever may know their password, since that one can sign in as them."""
    other = by_id if by_id is not None and by_id != person_id else None
    itself = by_id is not None and other is None
    if email:
        if other is not None:
            row.email_by_id = other
        elif itself:
            row.email_by_id = row.password_by_id
    if role and other is not None:
        row.role_by_id = other
    if password:
        if other is not None:
            row.password_by_id = other
        elif itself:
            row.role_by_id = None
        else:  # the reset link went to the email address, or a shell: either way not the person
            row.password_by_id = row.email_by_id
