from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.models import AuditAction
from audit.services import audit_record, client_ip
from jappanel.client import ProviderError
from jappanel.providers.models import Provider
from jappanel.providers.services import provider_refresh_balance


class ProviderAdminForm(forms.ModelForm):
    # Write-only: the stored key is never sent to the browser, not even masked.
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current key. The key is never shown again.",
    )

    class Meta:
        model = Provider
        fields = ["name", "api_url", "api_key", "currency", "active"]

    def clean_api_key(self) -> str:
        api_key = self.cleaned_data["api_key"]
        if not api_key and not self.instance.api_key_encrypted:
            raise forms.ValidationError("Enter the panel's API key.")
        return api_key

    def save(self, commit: bool = True) -> Provider:
        if self.cleaned_data["api_key"]:
            self.instance.set_api_key(self.cleaned_data["api_key"])
        return super().save(commit=commit)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderAdminForm
    list_display = [
        "name",
        "api_url",
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
        old = Provider.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        before, after = (_audited(old) if old else None), _audited(obj)
        changed = {name for name in after if before is None or before[name] != after[name]}
        who = {"actor": request.user, "ip": client_ip(request), "target": obj}
        if old is None or changed:
            audit_record(
                action=AuditAction.PROVIDER_CHANGED if old else AuditAction.PROVIDER_CREATED,
                before={name: before[name] for name in sorted(changed)} if before else None,
                after={name: after[name] for name in sorted(changed)},
                **who,
            )
        if old is not None and old.api_key_encrypted != obj.api_key_encrypted:
            # Only that it changed: neither key, nor any part of one, goes into the log.
            audit_record(action=AuditAction.PROVIDER_KEY_CHANGED, note="The API key was replaced.", **who)

    def delete_model(self, request: HttpRequest, obj: Provider) -> None:
        audit_record(
            action=AuditAction.PROVIDER_DELETED,
            actor=request.user,
            ip=client_ip(request),
            target=obj,
            before=_audited(obj),
        )
        super().delete_model(request, obj)

    @admin.display(description="API key")
    def masked_api_key(self, provider: Provider) -> str:
        return provider.masked_api_key

    @admin.action(description="Refresh the balance from the panel", permissions=["change"])
    def refresh_balance(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            try:
                balance = provider_refresh_balance(provider=provider)
            except ProviderError as exc:
                self.message_user(request, f"{provider.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{provider.name}: {balance.amount} {balance.currency}")


def _audited(provider: Provider) -> dict[str, object]:
    return {
        "name": provider.name,
        "api_url": provider.api_url,
        "currency": provider.currency,
        "active": provider.active,
    }
