from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.platforms import Platform
from catalog.refill import refill_days_label

# JAP's "unlimited" maximum; a larger quantity cannot be ordered anywhere.
MAX_QUANTITY = 2_147_483_647


class Service(models.Model):
    """A provider's service as last seen in its `services` list.

    Never deleted, since orders point at it: a service missing from the provider's answer
    becomes inactive and comes back when it reappears. `last_seen_at` moves when the row is
    written (new, changed or back); an unchanged active service was seen at the provider's
    last successful sync.
    """

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT, related_name="services")
    service_id = models.BigIntegerField("provider's service id")
    name = models.TextField()
    type = models.CharField(max_length=100, default="Default")
    category = models.CharField(max_length=255, blank=True)
    platform = models.CharField(max_length=20, choices=Platform.choices, default=Platform.OTHER)
    rate = models.DecimalField("rate per 1000", max_digits=14, decimal_places=5)
    min_quantity = models.BigIntegerField()
    max_quantity = models.BigIntegerField()
    refill = models.BooleanField(default=False)
    # The guarantee in days (0: none, catalog.refill.LIFETIME: without end): read from the flag
    # and the name at each sync; a manager's correction, kept across syncs, wins.
    refill_days = models.PositiveIntegerField("refill period (days)", default=0)
    refill_days_override = models.PositiveIntegerField(
        "refill period set by a manager (days)", null=True, blank=True
    )
    cancel = models.BooleanField(default=False)
    dripfeed = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    raw = models.JSONField("the provider's record", default=dict)
    # The share of the last 30 days' orders that completed in full, once enough of them ended to
    # judge (Scorecard.JUDGED_MIN); empty until then. Written with the scorecards, kept on the row
    # so that the catalog sorts by it on an index (made on PostgreSQL by migration 0006: SQLite
    # has no NULLS LAST in an index).
    reliability = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)

    class Meta:
        permissions = [("sync_catalog", "Can sync the catalog from the providers")]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "service_id"], name="catalog_service_unique_per_provider"
            )
        ]
        indexes = [
            models.Index(fields=["active", "platform", "rate"], name="catalog_service_browse"),
            models.Index(fields=["active", "category"], name="catalog_service_category"),
            models.Index(fields=["active", "rate"], name="catalog_service_rate"),
            models.Index(fields=["active", "name"], name="catalog_service_name"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} · {self.name}"

    def cost(self, quantity: int) -> Decimal:
        """What `quantity` units cost at the current rate (rate is per 1000)."""
        return self.rate * quantity / 1000

    @property
    def refill_period(self) -> int:
        """The refill guarantee in days that holds: the manager's correction, else the panel's."""
        return self.refill_days if self.refill_days_override is None else self.refill_days_override

    @property
    def refill_period_label(self) -> str:
        return refill_days_label(self.refill_period)

    @property
    def is_new(self) -> bool:
        return self.first_seen_at >= timezone.now() - timedelta(days=7)


class ServicePriceChange(models.Model):
    """A change of a service's rate or limits, recorded by the sync that saw it."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="price_changes")
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    old_rate = models.DecimalField(max_digits=14, decimal_places=5)
    new_rate = models.DecimalField(max_digits=14, decimal_places=5)
    old_min = models.BigIntegerField()
    new_min = models.BigIntegerField()
    old_max = models.BigIntegerField()
    new_max = models.BigIntegerField()

    class Meta:
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["service", "-changed_at"], name="catalog_price_change_recent")]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.old_rate} → {self.new_rate}"


class Scorecard(models.Model):
    """What our own orders say of a service, or of a whole provider (no `service`), over the
    last `days` days: how they ended, how much was delivered, how fast, how refills went.

    Kept in the catalog so that its pages can show it, and written by the orders app's refresh
    (`orders.services.scorecards.scorecards_refresh`, run by the scheduler), since the catalog
    knows nothing of orders. `orders` counts the orders sent to the panel; the rates are shares
    of those that ended (`settled`), and a figure resting on fewer than JUDGED_MIN orders is
    never shown as a number.
    """

    JUDGED_MIN = 10
    WINDOWS = (30, 90)
    # The window of `Service.reliability`, the catalog's column.
    RELIABILITY_DAYS = 30

    provider = models.ForeignKey("providers.Provider", on_delete=models.CASCADE, related_name="scorecards")
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="scorecards", db_index=False
    )
    days = models.PositiveSmallIntegerField()
    orders = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    partial = models.PositiveIntegerField(default=0)
    canceled = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    unconfirmed = models.PositiveIntegerField(default=0)
    # Of the completed, partial and canceled orders with a quantity: how many, ordered, delivered.
    delivered_orders = models.PositiveIntegerField(default=0)
    quantity_ordered = models.BigIntegerField(default=0)
    quantity_delivered = models.BigIntegerField(default=0)
    # Seconds from accepted to the first progress (`starts` orders), and to the end of the
    # completed and partial ones (`finishes`): median and 90th percentile.
    starts = models.PositiveIntegerField(default=0)
    start_median = models.BigIntegerField(null=True, blank=True)
    start_p90 = models.BigIntegerField(null=True, blank=True)
    finishes = models.PositiveIntegerField(default=0)
    finish_median = models.BigIntegerField(null=True, blank=True)
    finish_p90 = models.BigIntegerField(null=True, blank=True)
    # Refills asked in the window that the panel finished, and those of them it completed.
    refills_finished = models.PositiveIntegerField(default=0)
    refills_completed = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "days"], name="catalog_scorecard_one_per_service"),
            models.UniqueConstraint(
                fields=["provider", "days"],
                condition=Q(service__isnull=True),
                name="catalog_scorecard_one_per_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service or self.provider}, {self.days} days: {self.orders} orders"

    @classmethod
    def windows_of(cls, *, service: Service | None = None, provider: object = None) -> list[Scorecard]:
        """The 30- and 90-day cards of `service`, or of `provider` as a whole; a window without
        orders is an empty card (it says "too few orders to judge")."""
        if service is not None:
            stored = cls.objects.filter(service=service)
            provider = service.provider
        else:
            stored = cls.objects.filter(provider=provider, service__isnull=True)
        found = {card.days: card for card in stored}
        return [found.get(days) or cls(provider=provider, service=service, days=days) for days in cls.WINDOWS]

    @property
    def settled(self) -> int:
        """Orders that ended (or whose outcome is unknown): what the rates are shares of."""
        return self.completed + self.partial + self.canceled + self.rejected + self.unconfirmed

    @property
    def open(self) -> int:
        return self.orders - self.settled

    @property
    def judged(self) -> bool:
        return self.settled >= self.JUDGED_MIN

    def _share(self, part: int, whole: int) -> Decimal | None:
        return Decimal(part) / Decimal(whole) if whole >= self.JUDGED_MIN else None

    @property
    def rates(self) -> list[tuple[str, Decimal | None]]:
        """(outcome, share of the settled orders) for each outcome; None when too few to judge."""
        return [
            (label, self._share(getattr(self, name), self.settled))
            for name, label in (
                ("completed", "Completed"),
                ("partial", "Partial"),
                ("canceled", "Canceled"),
                ("rejected", "Rejected"),
                ("unconfirmed", "Unconfirmed"),
            )
        ]

    @property
    def reliability(self) -> Decimal | None:
        """The share of settled orders that completed in full (the catalog's column)."""
        return self._share(self.completed, self.settled)

    @property
    def delivered_share(self) -> Decimal | None:
        if self.delivered_orders < self.JUDGED_MIN or not self.quantity_ordered:
            return None
        return Decimal(self.quantity_delivered) / Decimal(self.quantity_ordered)

    @property
    def refill_success(self) -> Decimal | None:
        return self._share(self.refills_completed, self.refills_finished)

    @property
    def start_judged(self) -> bool:
        return self.starts >= self.JUDGED_MIN

    @property
    def finish_judged(self) -> bool:
        return self.finishes >= self.JUDGED_MIN


class ChangeKind(models.TextChoices):
    NEW = "new", "New"
    REMOVED = "removed", "Removed"
    REACTIVATED = "reactivated", "Back"
    RATE_UP = "rate_up", "Rate up"
    RATE_DOWN = "rate_down", "Rate down"
    MIN = "min", "Min changed"
    MAX = "max", "Max changed"
    REFILL = "refill", "Refill changed"
    CANCEL = "cancel", "Cancel changed"
    DRIPFEED = "dripfeed", "Drip-feed changed"
    RENAMED = "renamed", "Renamed"


class CatalogChange(models.Model):
    """One change a sync saw in one service: new, removed, back, repriced, new limits or flags, renamed.

    Recorded by `catalog.changes.catalog_changes_record` from the rows the sync compared anyway;
    `old_value` and `new_value` hold the values as text (a rate with its five decimals, a flag as
    "yes"/"no"), `percent` the rate's move. A provider's first sync records nothing: all of it
    is new, so none of it is news.
    """

    Kind = ChangeKind

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="catalog_changes", db_index=False
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="catalog_changes", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    # A rate may move from 0.00001 to 1,000,000,000: room for the largest such percentage.
    percent = models.DecimalField(max_digits=20, decimal_places=1, null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="catalog_change_recent"),
            models.Index(fields=["provider", "-at", "-id"], name="catalog_change_provider"),
            models.Index(fields=["kind", "-at", "-id"], name="catalog_change_kind"),
            models.Index(fields=["service", "-at"], name="catalog_change_service"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.service_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def is_rate(self) -> bool:
        return self.kind in (ChangeKind.RATE_UP, ChangeKind.RATE_DOWN)

    @property
    def old_rate(self) -> Decimal | None:
        return Decimal(self.old_value) if self.is_rate else None

    @property
    def new_rate(self) -> Decimal | None:
        return Decimal(self.new_value) if self.is_rate else None


class CatalogChangesVisit(models.Model):
    """When a person last opened the Catalog changes page: "since my last visit" starts there."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="catalog_changes_visit"
    )
    visited_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user} saw the catalog changes at {self.visited_at:%Y-%m-%d %H:%M}"


class CatalogSync(models.Model):
    """One run of the catalog sync for one provider: its progress, counts and outcome."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Succeeded"
        FAILED = "failed", "Failed"

    provider = models.ForeignKey("providers.Provider", on_delete=models.CASCADE, related_name="catalog_syncs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # What a running sync is doing now, shown as its progress ("Waiting for a worker", ...).
    stage = models.CharField(max_length=200, blank=True, default="Waiting for a worker")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        indexes = [models.Index(fields=["provider", "-started_at"], name="catalog_sync_latest")]
        constraints = [
            # Two syncs of one provider at once would race on the same rows: the database
            # refuses the second "running" row, whichever process tries.
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(status="running"),
                name="catalog_one_running_sync_per_provider",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} sync at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class Favourite(models.Model):
    """A service a person starred."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_services"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service"], name="catalog_favourite_once")]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.service_id}"


class ShortlistEntry(models.Model):
    """A service the team approved, under the name the team knows it by.

    The catalog and the order form list shortlisted services first; the team policy
    (`TeamPolicy.shortlist_rule`) decides whether a person who cannot approve orders may
    order a service off the list freely, only after approval, or not at all.
    """

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="shortlist")
    house_name = models.CharField(
        max_length=120, help_text="What the team calls it, e.g. “IG followers — premium”"
    )
    notes = models.TextField(blank=True)
    # Comma-separated, kept lower case and without duplicates (see `tags_clean`): a list of
    # a few words per entry needs no table of its own.
    tags = models.CharField(
        max_length=255, blank=True, help_text="Comma-separated, e.g. “instagram, premium”"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["house_name", "pk"]
        verbose_name = "shortlist entry"
        verbose_name_plural = "shortlist"

    def __str__(self) -> str:
        return f"{self.house_name} ({self.service_id})"

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in (part.strip() for part in self.tags.split(",")) if tag]

    @staticmethod
    def tags_clean(text: str) -> str:
        """`"Premium, instagram ,premium"` → `"premium, instagram"`: the stored form of the tags."""
        tags: list[str] = []
        for part in text.split(","):
            tag = " ".join(part.split()).lower()
            if tag and tag not in tags:
                tags.append(tag)
        return ", ".join(tags)


class ShortlistRule(models.TextChoices):
    OPEN = "open", "Open"
    APPROVAL = "approval", "Approval outside the shortlist"
    ONLY = "only", "Shortlist only"


# One sentence per rule, shown beside its radio button and in the messages that cite it.
SHORTLIST_RULE_HELP = {
    ShortlistRule.OPEN: "Anyone who may order can order any service; the shortlist only comes first "
    "and carries the team's names.",
    ShortlistRule.APPROVAL: "An order for a service off the shortlist, by someone who cannot approve "
    "orders, waits for an approver before it is sent.",
    ShortlistRule.ONLY: "Someone who cannot approve orders can order shortlisted services only; "
    "approvers and managers can still order anything.",
}


class TeamPolicy(models.Model):
    """The team-wide settings managers change in our pages: one row, id 1 (see `current()`)."""

    SINGLETON_ID = 1

    shortlist_rule = models.CharField(
        "who may order off the shortlist",
        max_length=10,
        choices=ShortlistRule.choices,
        default=ShortlistRule.OPEN,
    )

    class Meta:
        # Moved from the team app (team 0007, catalog 0009): the table kept its name.
        db_table = "team_teampolicy"
        verbose_name = "team policy"
        verbose_name_plural = "team policy"

    def __str__(self) -> str:
        return "Team policy"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> TeamPolicy:
        """The policy in force: the saved row, or the defaults until a manager first saves one."""
        return cls.objects.filter(pk=cls.SINGLETON_ID).first() or cls(pk=cls.SINGLETON_ID)

    @property
    def shortlist_rule_help(self) -> str:
        return SHORTLIST_RULE_HELP[ShortlistRule(self.shortlist_rule)]
