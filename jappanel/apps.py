from __future__ import annotations

from django.apps import AppConfig


class JappanelConfig(AppConfig):
    name = "jappanel"
    verbose_name = "jappanel"
