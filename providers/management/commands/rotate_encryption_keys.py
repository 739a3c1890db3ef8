from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from providers.crypto import ApiKeyDecryptionError
from providers.services import provider_rotate_api_keys
from providers.signals import encryption_keys_rotated


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (provider API keys, notification endpoints) under the first "
        "FIELD_ENCRYPTION_KEYS key. Put the new key first, keep the old one after it, run this, then "
        "drop the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotated = provider_rotate_api_keys()
            self.stdout.write(f"re-encrypted {rotated} provider API key(s)")
            for _receiver, (count, what) in encryption_keys_rotated.send(sender=self.__class__):
                if count:
                    self.stdout.write(f"re-encrypted {count} {what}")
        except ApiKeyDecryptionError as exc:
            raise CommandError(str(exc)) from exc
