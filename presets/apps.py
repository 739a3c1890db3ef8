from __future__ import annotations

from django.apps import AppConfig


class PresetsConfig(AppConfig):
    name = "presets"
    verbose_name = "Presets"

    def ready(self) -> None:
        from catalog.changes import services_in_use_register
        from presets.models import PresetLine

        # A catalog change to a service of an active preset is shown first, marked "In a preset".
        services_in_use_register(
            key="presets",
            label="In a preset",
            rows=lambda: PresetLine.objects.filter(preset__active=True),
        )
