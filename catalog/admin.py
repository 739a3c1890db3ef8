from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from audit.services import client_ip
from catalog.models import CatalogSync, Service, ServicePriceChange, ShortlistEntry, TeamPolicy
from catalog.services import shortlist_remove, shortlist_save, team_policy_save
from jappanel.web.access import may


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
        "refill_days",
        "cancel",
        "dripfeed",
        "active",
    )
    list_filter = ("active", "provider", "platform", "type", "refill", "cancel", "dripfeed")
    search_fields = ("name", "category", "=service_id")
    list_select_related = ("provider",)
    show_full_result_count = False
    # Every field comes from the provider's list and is overwritten by the next sync; a refill
    # period is corrected in the service's panel, where the correction is audited.
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


@admin.register(ShortlistEntry)
class ShortlistEntryAdmin(admin.ModelAdmin):
    """The shortlist; saves and deletions go through the services, so both are audited."""

    list_display = ("house_name", "service", "tags", "added_by", "added_at")
    list_select_related = ("service", "added_by")
    search_fields = ("house_name", "tags", "service__name", "=service__service_id")
    autocomplete_fields = ("service",)
    readonly_fields = ("added_by", "added_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ShortlistEntry | None = None) -> tuple[str, ...]:
        # An entry belongs to its service: moving it to another would rewrite what was approved.
        return (*self.readonly_fields, "service") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ShortlistEntry, form: Any, change: bool) -> None:
        shortlist_save(entry=obj, user=request.user, ip=client_ip(request))

    def delete_model(self, request: HttpRequest, obj: ShortlistEntry) -> None:
        shortlist_remove(entry=obj, user=request.user, ip=client_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ShortlistEntry]) -> None:
        for entry in queryset.select_related("service__provider"):
            shortlist_remove(entry=entry, user=request.user, ip=client_ip(request))


# Registered here rather than in team/admin.py: the policy is edited with the shortlist it rules.
@admin.register(TeamPolicy)
class TeamPolicyAdmin(admin.ModelAdmin):
    """The one team policy row; whoever manages the shortlist may change it (audited)."""

    fields = ("shortlist_rule",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TeamPolicy | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: TeamPolicy | None = None) -> bool:
        return may(request.user, "manage_shortlist")

    def has_change_permission(self, request: HttpRequest, obj: TeamPolicy | None = None) -> bool:
        return may(request.user, "manage_shortlist")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A list of one row: straight to the row, made on first visit.
        policy, _ = TeamPolicy.objects.get_or_create(pk=TeamPolicy.SINGLETON_ID)
        return redirect("admin:catalog_teampolicy_change", policy.pk)

    def save_model(self, request: HttpRequest, obj: TeamPolicy, form: Any, change: bool) -> None:
        team_policy_save(policy=obj, user=request.user, ip=client_ip(request))
