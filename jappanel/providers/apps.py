from __future__ import annotations

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "jappanel.providers"
    label = "providers"
    verbose_name = "Providers"
