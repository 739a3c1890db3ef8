from __future__ import annotations

from typing import Any

from django import forms

from providers.models import Provider
from providers.services import API_KEY_AGAIN


class ProviderForm(forms.ModelForm):
    """A provider as the admin and the providers page edit it; saved by `provider_save`.

    The API key is write-only: the stored key is never sent to the browser, not even masked.
    Credentials in the API URL (`user:password@`) are not shown either: the field shows the URL
    without them and, sent back unchanged, keeps the stored one.
    """

    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Leave empty to keep the current key (a new host needs it again). The key is never shown again."
        ),
    )

    class Meta:
        model = Provider
        fields = ["name", "api_url", "api_key", "currency", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["api_url"] = self.instance.api_url_shown

    def clean_api_url(self) -> str:
        api_url = self.cleaned_data["api_url"]
        if self.instance.pk and api_url == self.instance.api_url_shown:
            return self.instance.api_url
        return api_url

    def clean_api_key(self) -> str:
        api_key = self.cleaned_data["api_key"]
        if not api_key and not self.instance.api_key_encrypted:
            raise forms.ValidationError("Enter the panel's API key.")
        return api_key

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        api_url = cleaned.get("api_url")
        if api_url and not cleaned.get("api_key") and self.instance.api_key_needed_for(api_url):
            self.add_error("api_key", API_KEY_AGAIN)
        return cleaned
