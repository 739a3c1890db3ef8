from __future__ import annotations

from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "team"
    verbose_name = "Budgets and campaigns"

    def ready(self) -> None:
        from team import signals

        signals.connect_signals()
