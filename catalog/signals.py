"""What the catalog tells the apps above it, without importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the correcting transaction with `service`: a manager changed its refill period,
# so the refill windows of its orders follow (orders connects it).
refill_period_corrected = Signal()
