"""What the providers app tells the apps above it, without knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit when a provider becomes usable or points somewhere new: created, re-enabled,
# or its API URL or key changed; with `provider_id`. The catalog syncs it and its balance is read.
provider_configured = Signal()

# Sent by `rotate_encryption_keys` once the provider keys are re-encrypted: each app above that
# keeps `providers.crypto` tokens re-encrypts its own and returns (how many, what: "endpoint(s)").
encryption_keys_rotated = Signal()
