from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from audit.services import client_ip
from team.models import Budget, Campaign
from team.services import budget_save, campaign_save


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    """Monthly budgets: one per person, or one team cap per provider."""

    list_display = ("__str__", "amount", "currency")
    list_select_related = ("user", "provider")

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        budget_save(budget=obj, user=request.user, ip=client_ip(request))

    def has_delete_permission(self, request: HttpRequest, obj: Budget | None = None) -> bool:
        return False  # set the amount instead: a change is audited, a deletion would not be


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "client",
        "starts_on",
        "ends_on",
        "monthly_budget",
        "currency",
        "members_only",
        "auto_refill_every_days",
        "active",
    )
    list_filter = ("active", "members_only")
    filter_horizontal = ("members",)
    search_fields = ("name", "client")

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        # The members here, not only in save_related(): the audit entry records them.
        members = form.cleaned_data.get("members")
        campaign_save(campaign=obj, members=members, user=request.user, ip=client_ip(request))


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class PersonAdmin(UserAdmin):
    """People, as Django's admin shows them, for superusers only; nobody is deleted here.

    Managers change people in the team's pages, which ask for their own password before setting
    a password or a role; here a manager with staff status could also make anyone (themselves
    included) a superuser. A superuser passes every check already, so nothing is asked of them.
    Either way the four-eyes rule sees who set what (team.signals). Deleting: untick "active"
    instead (their orders, budget and audit entries keep pointing at them).
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
