from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class JappanelConfig(AppConfig):
    name = "jappanel"
    verbose_name = "jappanel"

    def ready(self) -> None:
        from jappanel.db import sqlite_functions
        from jappanel.metrics import connect_metrics
        from jappanel.web.access import roles_after_migrate

        connect_metrics()
        connection_created.connect(sqlite_functions, dispatch_uid="jappanel-sqlite-functions")
        # After a test database is flushed (live-server tests) the groups are gone with it;
        # the data migration made them once, this makes them again. post_migrate runs once all
        # migrations are applied, so every app's permissions exist by then.
        post_migrate.connect(roles_after_migrate, sender=self, dispatch_uid="jappanel-roles")
