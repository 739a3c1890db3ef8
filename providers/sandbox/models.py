from __future__ import annotations

from decimal import Decimal

from django.db import models


class FaultMode(models.TextChoices):
    NONE = "none", "None"
    SLOW = "slow", "Slow replies"
    HTML_503 = "html_503", "HTML 503 maintenance page"
    LATE_ACCEPT = "late_accept", "Accept orders, answer after the client's read timeout"
    CLOUDFLARE = "cloudflare", "Cloudflare challenge page (403)"


class Account(models.Model):
    """A customer of the sandbox panel: its API key, its balance and its fault mode.

    The `house` account is the install's own when no SANDBOX_API_KEY is set: its key is random,
    made once, and the Sandbox provider uses it (see `sandbox_account_get`).
    """

    api_key = models.CharField(max_length=128, unique=True)
    house = models.BooleanField(default=False, editable=False)
    balance = models.DecimalField(max_digits=14, decimal_places=5, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    # Blank means "use settings.SANDBOX_FAULT_MODE".
    fault_mode = models.CharField(max_length=20, choices=FaultMode.choices, blank=True, default="")
    # Per-account counters feed the seeded simulation, so outcomes do not depend on database ids.
    order_seq = models.PositiveIntegerField(default=0)
    refill_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["house"], condition=models.Q(house=True), name="sandbox_one_house"
            )
        ]

    def __str__(self) -> str:
        return f"Sandbox account #{self.pk} ({self.balance} {self.currency})"


class ServiceType(models.TextChoices):
    DEFAULT = "Default"
    PACKAGE = "Package"
    SEO = "SEO"
    CUSTOM_COMMENTS = "Custom Comments"
    CUSTOM_COMMENTS_PACKAGE = "Custom Comments Package"
    MENTIONS = "Mentions"
    MENTIONS_WITH_HASHTAGS = "Mentions with Hashtags"
    MENTIONS_CUSTOM_LIST = "Mentions Custom List"
    MENTIONS_HASHTAG = "Mentions Hashtag"
    MENTIONS_USER_FOLLOWERS = "Mentions User Followers"
    MENTIONS_MEDIA_LIKERS = "Mentions Media Likers"
    COMMENT_LIKES = "Comment Likes"
    COMMENT_REPLIES = "Comment Replies"
    POLL = "Poll"
    INVITES_FROM_GROUPS = "Invites from Groups"
    SUBSCRIPTIONS = "Subscriptions"
    WEB_TRAFFIC = "Web Traffic"


class Service(models.Model):
    """One entry of the sandbox catalog; its id is the JAP-style service number."""

    id = models.PositiveIntegerField(primary_key=True)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=40, choices=ServiceType.choices)
    category = models.CharField(max_length=100)
    platform = models.CharField(max_length=50)
    rate = models.DecimalField(max_digits=14, decimal_places=5)
    min = models.PositiveIntegerField()
    max = models.PositiveBigIntegerField()
    dripfeed = models.BooleanField(default=False)
    refill = models.BooleanField(default=False)
    # Null with refill on means a lifetime refill guarantee.
    refill_days = models.PositiveIntegerField(null=True, blank=True)
    cancel = models.BooleanField(default=False)
    start_max_seconds = models.PositiveIntegerField(help_text="Longest start delay, simulated seconds")
    speed_per_day = models.PositiveIntegerField(help_text="Units delivered per simulated day")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"

    @property
    def is_package(self) -> bool:
        return self.type in (ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE)


class SandboxOrderStatus(models.TextChoices):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    PARTIAL = "Partial"
    CANCELED = "Canceled"
    # Subscription parents only.
    ACTIVE = "Active"
    EXPIRED = "Expired"


FINAL_ORDER_STATUSES = (
    SandboxOrderStatus.COMPLETED,
    SandboxOrderStatus.PARTIAL,
    SandboxOrderStatus.CANCELED,
    SandboxOrderStatus.EXPIRED,
)


class OrderKind(models.TextChoices):
    ORDER = "order", "Order"
    DRIPFEED = "dripfeed", "Drip-feed parent"
    SUBSCRIPTION = "subscription", "Subscription parent"


class Order(models.Model):
    """An order placed with `add`, a drip-feed run, or a post processed by a subscription.

    The simulation plan (when it starts and ends, how it ends) is drawn from the seed when the
    order is created; reads move the stored state towards the plan as the clock advances.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders")
    kind = models.CharField(max_length=20, choices=OrderKind.choices, default=OrderKind.ORDER)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    # Subscription children made for posts that existed before the subscription.
    old_post = models.BooleanField(default=False)
    plan_key = models.CharField(max_length=50)
    link = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(null=True, blank=True)
    interval = models.PositiveIntegerField(null=True, blank=True, help_text="Minutes between runs")
    params = models.JSONField(default=dict, blank=True)
    charge = models.DecimalField(max_digits=14, decimal_places=5, default=Decimal("0"))
    refunded = models.DecimalField(max_digits=14, decimal_places=5, default=Decimal("0"))
    status = models.CharField(
        max_length=20, choices=SandboxOrderStatus.choices, default=SandboxOrderStatus.PENDING
    )
    start_count = models.PositiveIntegerField(null=True, blank=True)
    remains = models.PositiveIntegerField(default=0)
    # The plan, in real time (the time scale is applied when the order is created).
    created_at = models.DateTimeField()
    starts_at = models.DateTimeField()
    finishes_at = models.DateTimeField()
    planned_start_count = models.PositiveIntegerField(default=0)
    planned_remains = models.PositiveIntegerField(default=0, help_text="Undelivered at the end (Partial)")
    # Drip-feed runs started / subscription posts processed so far.
    progress = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "link", "status"])]

    def __str__(self) -> str:
        return f"Sandbox order #{self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_ORDER_STATUSES


class RefillStatus(models.TextChoices):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    REJECTED = "Rejected"


FINAL_REFILL_STATUSES = (RefillStatus.COMPLETED, RefillStatus.REJECTED)


class Refill(models.Model):
    """A refill request for a completed order; it ends Completed or Rejected as planned."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="refills")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refills")
    plan_key = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=RefillStatus.choices, default=RefillStatus.PENDING)
    created_at = models.DateTimeField()
    starts_at = models.DateTimeField()
    finishes_at = models.DateTimeField()
    planned_status = models.CharField(max_length=20, choices=RefillStatus.choices)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Sandbox refill #{self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_REFILL_STATUSES
