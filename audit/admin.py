from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the log is evidence, not data to tidy."""

    list_display = ("at", "action", "who", "ip", "target_label", "note")
    list_filter = ("action", "at")
    search_fields = ("target_label", "actor_name", "note", "=ip")
    date_hierarchy = "at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
