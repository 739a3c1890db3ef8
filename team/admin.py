from __future__ import annotations

from typing import Any

from django.contrib import admin
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
        "active",
    )
    list_filter = ("active", "members_only")
    filter_horizontal = ("members",)
    search_fields = ("name", "client")

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        # The members here, not only in save_related(): the audit entry records them.
        members = form.cleaned_data.get("members")
        campaign_save(campaign=obj, members=members, user=request.user, ip=client_ip(request))
