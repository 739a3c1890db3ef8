from __future__ import annotations

from typing import Any

from django import forms

from notifications.models import BalanceAlert, Choice, Endpoint, Kind
from providers.client.urls import address_kind, literal_address


class PreferencesForm(forms.Form):
    """One choice per kind of event: off, in the product, email, daily digest."""

    def __init__(self, *args: Any, initial_choices: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in Kind.choices:
            self.fields[kind] = forms.ChoiceField(
                label=label, choices=Choice.choices, initial=initial_choices[kind], widget=forms.RadioSelect
            )


class EndpointForm(forms.ModelForm):
    """An endpoint as the team edits it. The URL is write-only, like a provider's API key: a chat
    hook's URL holds its token, so the stored one is never sent to the browser; left empty on an
    edit, it is kept."""

    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    kinds = forms.MultipleChoiceField(
        label="Events sent",
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event",
    )

    class Meta:
        model = Endpoint
        fields = ["name", "type", "url", "campaign", "kinds"]
        help_texts = {"campaign": "Empty: the whole team's events"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.fields["url"]
        if self.instance.pk:
            url.help_text = (
                f"Now {self.instance.masked_url}. Leave empty to keep it; it is never shown again."
            )
        else:
            url.required, url.help_text = True, "https"

    def clean_url(self) -> str:
        from django.conf import settings

        url = self.cleaned_data["url"].strip()
        if not url and self.instance.pk:
            return ""
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Give an http(s) URL.")
        address = literal_address(url)
        inside = address_kind(address) if address else None
        if inside and not settings.ALLOW_PRIVATE_PROVIDER_URLS:
            raise forms.ValidationError(
                f"This is a {inside} address, inside the network (ALLOW_PRIVATE_PROVIDER_URLS=1 allows it)."
            )
        return url

    def save(self, commit: bool = True) -> Endpoint:
        if self.cleaned_data["url"]:
            self.instance.url = self.cleaned_data["url"]
        return super().save(commit=commit)


class BalanceAlertForm(forms.ModelForm):
    class Meta:
        model = BalanceAlert
        fields = ["provider", "threshold"]
        help_texts = {"threshold": "Below this balance the managers are told"}

    def clean_threshold(self) -> Any:
        value = self.cleaned_data["threshold"]
        if value is not None and value < 0:
            raise forms.ValidationError("A threshold is 0 or more.")
        return value
