from __future__ import annotations

from django.db import models


class Provider(models.Model):
    """Placeholder: replaced by the providers work (encrypted key, balance, client())."""

    name = models.CharField(max_length=100, unique=True)
    api_url = models.CharField(max_length=500)
    currency = models.CharField(max_length=10, default="USD")
    active = models.BooleanField(default=True)
    balance = models.DecimalField(max_digits=14, decimal_places=5, null=True, blank=True)
    balance_checked_at = models.DateTimeField(null=True, blank=True)

    @property
    def masked_api_key(self) -> str:
        return "••••"
