from __future__ import annotations

from django import forms

from providers.models import Provider


class ProviderForm(forms.ModelForm):
    """A provider as the admin and the providers page edit it; saved by `provider_save`.

    The API key is write-only: the stored key is never sent to the browser, not even masked.
    """

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
