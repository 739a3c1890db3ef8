from __future__ import annotations

from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "team"
    verbose_name = "Budgets and campaigns"
