"""What the orders app tells whoever cares, without importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit with `refills`: the Refill rows the panel just refused ("Refill is disabled
# for this service", "The refill task is not completed for this order"), each with its order.
refill_refused = Signal()
