from __future__ import annotations

from django.contrib import admin

from notifications.models import Delivery, Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "title"]
    list_filter = ["kind"]
    search_fields = ["key", "title"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    # The record of what was told, which deliveries name by id: kept.
    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "endpoint", "status", "attempts", "response_code"]
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
