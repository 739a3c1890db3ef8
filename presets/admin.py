from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from presets.models import Preset, PresetLine


class PresetLineInline(admin.TabularInline):
    model = PresetLine
    fields = ("position", "service", "quantity", "runs", "interval")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    """Read-only: presets are edited on their own pages, where every change is audited."""

    list_display = ("name", "campaign", "created_by", "updated_at", "active")
    list_filter = ("active",)
    search_fields = ("name", "notes")
    list_select_related = ("campaign", "created_by")
    inlines = [PresetLineInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Preset | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Preset | None = None) -> bool:
        return False
