from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from jappanel.events import happened
        from notifications.services.recording import occurrences_record
        from notifications.services.webhooks import endpoints_rotate_secrets
        from providers.signals import encryption_keys_rotated

        happened.connect(occurrences_record, dispatch_uid="notifications_record")
        encryption_keys_rotated.connect(endpoints_rotate_secrets, dispatch_uid="notifications_rotate")
