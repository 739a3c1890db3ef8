from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from jappanel.events import happened
        from notifications.services.recording import occurrences_record

        happened.connect(occurrences_record, dispatch_uid="notifications_record")
