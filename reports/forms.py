from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property

from providers.models import Provider
from reports.services import GROUPINGS, STATUS_GROUPS
from team.models import Campaign


class ReportForm(forms.Form):
    """The report's controls, read from the query string: a month or a date range, the grouping,
    and the filters. Everything is optional: no value at all is this month by campaign."""

    month = forms.DateField(
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": "Pick a month, such as 2026-11."},
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    group = forms.ChoiceField(
        required=False,
        label="Group by",
        choices=[(key, grouping.label) for key, grouping in GROUPINGS.items()],
    )
    provider = forms.ModelChoiceField(
        Provider.objects.order_by("name"), required=False, empty_label="All providers"
    )
    campaign = forms.ModelChoiceField(
        Campaign.objects.order_by("-active", "name"), required=False, empty_label="All campaigns"
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *((key, label) for key, (label, _) in STATUS_GROUPS.items())],
    )
    sandbox = forms.BooleanField(required=False, label="Include sandbox orders (no real money)")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if self.errors:
            return cleaned
        if since is None and until is not None:
            self.add_error("since", "Give the first day of the range too, or clear the last one.")
        elif since is not None:
            until = until or timezone.localdate()
            if until < since:
                self.add_error(
                    "until",
                    f"The range ends on {date_format(until, 'j M Y')}, "
                    f"before it starts on {date_format(since, 'j M Y')}.",
                )
            cleaned["start"], cleaned["end"] = since, until
        else:
            first = (cleaned.get("month") or timezone.localdate()).replace(day=1)
            following = (first + timedelta(days=31)).replace(day=1)
            cleaned["start"], cleaned["end"] = first, following - timedelta(days=1)
        return cleaned

    @cached_property
    def filter_choices(self) -> list[tuple[forms.BoundField, list[tuple[Any, str]]]]:
        """The filter selects with their options, each read once (a ModelChoiceField's choices
        cost a COUNT and a SELECT every time a template loops over them)."""
        return [
            (self[name], list(iter(self.fields[name].choices))) for name in ("provider", "campaign", "status")
        ]

    @property
    def ranged(self) -> bool:
        """Whether the period is a date range rather than a month."""
        return bool(self.data.get("since") or self.data.get("until"))

    def period(self) -> tuple[date, date]:
        return self.cleaned_data["start"], self.cleaned_data["end"]

    def report_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `report_build` (call after is_valid())."""
        start, end = self.period()
        data = self.cleaned_data
        return {
            "start": start,
            "end": end,
            "group": data["group"] or "campaign",
            "provider": data["provider"],
            "campaign": data["campaign"],
            "status": data["status"],
            "include_sandbox": data["sandbox"],
        }
