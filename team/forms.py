from __future__ import annotations

from django import forms

from team.models import Campaign


class CampaignForm(forms.ModelForm):
    """A campaign as managers create and edit it."""

    class Meta:
        model = Campaign
        fields = [
            "name",
            "client",
            "starts_on",
            "ends_on",
            "monthly_budget",
            "currency",
            "approval_threshold",
            "notes",
            "active",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The campaign ends before it starts.")
        return cleaned
