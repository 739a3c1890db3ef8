from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import signals
        from jappanel.access import roles_after_migrate

        signals.connect_signals()
        # After a test database is flushed (live-server tests) the groups are gone with it;
        # the data migration made them once, this makes them again.
        post_migrate.connect(roles_after_migrate, sender=self, dispatch_uid="jappanel-roles")
