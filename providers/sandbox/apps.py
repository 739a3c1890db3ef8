from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "providers.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox panel"
