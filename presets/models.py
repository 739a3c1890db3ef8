"""Presets: named bundles of order lines, applied to many links in one step."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Preset(models.Model):
    """A named bundle of lines (service, quantity, drip-feed) to order for each of many links.

    Never deleted (archived with `active`): the audit log and the people who use it refer to it
    by name. `campaign` is the campaign its orders go to unless another is chosen when applying.
    """

    name = models.CharField(max_length=120, unique=True)
    notes = models.TextField(blank=True)
    campaign = models.ForeignKey(
        "team.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="presets",
        help_text="The campaign its orders go to by default",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-active", "name"]

    def __str__(self) -> str:
        return self.name


class PresetLine(models.Model):
    """One order of a preset, made for every link: a service, a quantity and maybe a drip-feed.

    `runs` and `interval` are both set (a drip-feed of `runs` orders every `interval` minutes)
    or both empty (one order).
    """

    preset = models.ForeignKey(Preset, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    service = models.ForeignKey("catalog.Service", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    runs = models.PositiveIntegerField("drip-feed runs", null=True, blank=True)
    interval = models.PositiveIntegerField("minutes between runs", null=True, blank=True)

    class Meta:
        ordering = ["preset", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(runs__isnull=True, interval__isnull=True)
                | Q(runs__isnull=False, interval__isnull=False),
                name="presets_line_dripfeed_both_or_neither",
                violation_error_message="A drip-feed needs both the runs and the minutes between them.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity:,} × #{self.service.service_id}"

    @property
    def is_dripfeed(self) -> bool:
        return self.runs is not None
