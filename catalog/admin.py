from __future__ import annotations

from django.contrib import admin

from catalog.models import CatalogSync, Service, ServicePriceChange


class ServicePriceChangeInline(admin.TabularInline):
    model = ServicePriceChange
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "changed_at",
        "old_rate",
        "new_rate",
        "old_min",
        "new_min",
        "old_max",
        "new_max",
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "service_id",
        "name",
        "provider",
        "platform",
        "category",
        "type",
        "rate",
        "min_quantity",
        "max_quantity",
        "refill",
        "cancel",
        "dripfeed",
        "active",
    )
    list_filter = ("active", "provider", "platform", "type", "refill", "cancel", "dripfeed")
    search_fields = ("name", "category", "=service_id")
    list_select_related = ("provider",)
    show_full_result_count = False
    # Every field comes from the provider's list and is overwritten by the next sync.
    readonly_fields = [field.name for field in Service._meta.fields if field.name != "id"]
    inlines = [ServicePriceChangeInline]

    def has_add_permission(self, request) -> bool:
        # Services come from the provider's list; a hand-made one would be overwritten or orphaned.
        return False


@admin.register(CatalogSync)
class CatalogSyncAdmin(admin.ModelAdmin):
    list_display = (
        "provider",
        "status",
        "started_at",
        "finished_at",
        "added",
        "updated",
        "deactivated",
        "unchanged",
        "skipped",
        "message",
    )
    list_filter = ("status", "provider")
    date_hierarchy = "started_at"
    list_select_related = ("provider",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
