from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services import client_ip
from providers.client import ProviderError
from providers.forms import ProviderForm
from providers.models import Provider
from providers.services import provider_refresh_balance, provider_save


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = [
        "name",
        "api_url_shown",
        "masked_api_key",
        "balance",
        "currency",
        "balance_checked_at",
        "active",
    ]
    list_filter = ["active"]
    search_fields = ["name", "api_url"]
    readonly_fields = [
        "masked_api_key",
        "balance",
        "balance_checked_at",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
    ]
    actions = ["refresh_balance"]

    def save_model(self, request: HttpRequest, obj: Provider, form: forms.ModelForm, change: bool) -> None:
        provider_save(
            provider=obj, api_key=form.cleaned_data["api_key"], user=request.user, ip=client_ip(request)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Provider | None = None) -> bool:
        return False  # untick "active" instead: its orders, services and budget stay with it

    @admin.display(description="API key")
    def masked_api_key(self, provider: Provider) -> str:
        return provider.masked_api_key

    @admin.display(description="API URL", ordering="api_url")
    def api_url_shown(self, provider: Provider) -> str:
        return provider.api_url_shown

    @admin.action(description="Refresh the balance from the panel", permissions=["change"])
    def refresh_balance(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            try:
                balance = provider_refresh_balance(provider=provider)
            except ProviderError as exc:
                self.message_user(request, f"{provider.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{provider.name}: {balance.amount} {balance.currency}")
