from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from providers.crypto import ApiKeyDecryptionError
from providers.services import provider_rotate_api_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every provider API key under the first FIELD_ENCRYPTION_KEYS key. Put the new "
        "key first, keep the old one after it, run this, then drop the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotated = provider_rotate_api_keys()
        except ApiKeyDecryptionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"re-encrypted {rotated} provider API key(s)")
