"""The preset form with its lines, and the apply form (links and campaign)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from catalog.models import MAX_QUANTITY, Service
from orders.services.common import OrderInvalid
from orders.services.placing import NUMBER_LIMITS, TEXT_LIMITS
from presets.models import Preset, PresetLine
from presets.services import MAX_LINKS, links_parse, preset_line_errors, preset_links_check
from providers.models import Provider
from team.models import Campaign

# Lines of one preset: with MAX_LINKS links that is already MAX_ORDERS orders.
MAX_LINES = 20
MAX_NOTES = 2_000
# A provider's service id fits its column (18 digits).
MAX_SERVICE_ID = 10**18 - 1


def _campaigns(current: Campaign | None) -> Any:
    """Open campaigns, and the one already chosen even if it has closed since (so it shows)."""
    campaigns = Campaign.objects.filter(active=True)
    if current is not None:
        campaigns = campaigns | Campaign.objects.filter(pk=current.pk)
    return campaigns


class PresetForm(forms.ModelForm):
    notes = forms.CharField(required=False, max_length=MAX_NOTES, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = Preset
        fields = ["name", "notes", "campaign", "active"]
        labels = {"campaign": "Default campaign"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = _campaigns(self.instance.campaign)
        self.fields["campaign"].empty_label = "No campaign"


class PresetLineForm(forms.ModelForm):
    """One line: the provider and its service id (as the provider numbers it), quantity, drip-feed.

    A service id rather than a list of the catalog: a panel offers thousands of services, and
    every line would carry all of them.
    """

    provider = forms.ModelChoiceField(queryset=Provider.objects.filter(active=True), empty_label=None)
    service_number = forms.IntegerField(label="Service id", min_value=1, max_value=MAX_SERVICE_ID)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    runs = forms.IntegerField(label="Runs", min_value=1, max_value=NUMBER_LIMITS["runs"][0], required=False)
    interval = forms.IntegerField(
        label="Every (min)", min_value=1, max_value=NUMBER_LIMITS["interval"][0], required=False
    )

    class Meta:
        model = PresetLine
        fields = ["quantity", "runs", "interval"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.instance.service if self.instance.service_id else None
        if service is not None:
            self.fields["provider"].initial = service.provider_id
            self.fields["service_number"].initial = service.service_id
        self.service: Service | None = service

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        provider, number = cleaned.get("provider"), cleaned.get("service_number")
        if provider is None or number is None:
            return cleaned
        self.service = (
            Service.objects.filter(provider=provider, service_id=number).select_related("provider").first()
        )
        if self.service is None:
            self.add_error("service_number", f"{provider.name} has no service #{number} (sync the catalog?).")
            return cleaned
        self.instance.service = self.service
        errors = preset_line_errors(
            service=self.service,
            quantity=cleaned.get("quantity"),
            runs=cleaned.get("runs"),
            interval=cleaned.get("interval"),
        )
        for name, message in errors.items():
            self.add_error("service_number" if name == "service" else name, message)
        return cleaned


class BasePresetLineFormSet(BaseInlineFormSet):
    default_error_messages = {
        **BaseInlineFormSet.default_error_messages,
        "too_few_forms": "A preset needs at least one line.",
        "too_many_forms": f"A preset has at most {MAX_LINES} lines.",
    }


PresetLineFormSet = inlineformset_factory(
    Preset,
    PresetLine,
    form=PresetLineForm,
    formset=BasePresetLineFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_LINES,
    validate_max=True,
    can_delete=True,
)


def line_formset(data: Any = None, *, preset: Preset, add: bool = False) -> Any:
    """The lines of `preset` (one empty line for a new one); `add` puts one more empty line."""
    if data is not None and add:
        data = data.copy()
        total = f"{PresetLineFormSet.get_default_prefix()}-TOTAL_FORMS"
        data[total] = str(min(int(data.get(total) or 0) + 1, MAX_LINES))
    queryset = preset.lines.select_related("service__provider") if preset.pk else PresetLine.objects.none()
    return PresetLineFormSet(data, instance=preset, queryset=queryset)


def kept_lines(formset: Any) -> list[PresetLine]:
    """The lines of a valid formset in their order: not removed, not left empty."""
    deleted = set(map(id, formset.deleted_forms))
    return [
        form.instance
        for form in formset.forms
        if id(form) not in deleted and form.service is not None and (form.has_changed() or form.instance.pk)
    ]


class ApplyForm(forms.Form):
    """Links, one per line, and the campaign; `submission_token` makes placing happen once."""

    links = forms.CharField(
        # Room for MAX_LINKS links of the longest length an order takes, one per line.
        max_length=MAX_LINKS * (TEXT_LIMITS["link"] + 1),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=f"One link per line, at most {MAX_LINKS}; blank lines are skipped.",
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), required=False, empty_label="No campaign"
    )
    submission_token = forms.RegexField(regex=r"^[\w-]{16,80}$", widget=forms.HiddenInput)
    # What the preview showed: placing other links than those previewed shows them first.
    previewed_as = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, preset: Preset, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.preset = preset
        self.fields["campaign"].queryset = _campaigns(preset.campaign).open_to(user)
        self.fields["campaign"].initial = preset.campaign_id
        self.fields["submission_token"].initial = secrets.token_urlsafe(24)

    def clean_links(self) -> list[str]:
        links = links_parse(self.cleaned_data["links"])
        try:
            preset_links_check(links=links, line_count=self.preset.lines.count())
        except OrderInvalid as exc:
            raise forms.ValidationError(exc.errors["links"]) from exc
        return links

    def fingerprint(self) -> str:
        """The links, the campaign and the preset's version, as previewed (after `is_valid()`)."""
        campaign = self.cleaned_data.get("campaign")
        parts = [
            self.preset.updated_at.isoformat(),
            str(campaign.pk if campaign else ""),
            *self.cleaned_data["links"],
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def previewed(self) -> bool:
        return self.cleaned_data.get("previewed_as") == self.fingerprint()
