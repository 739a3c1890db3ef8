from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django import forms
from django.utils import timezone


class ApiKeyForm(forms.Form):
    """A new key: a name to recognise it by, and an optional last day."""

    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “Reporting sheet”.")
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the key stops working at the end of this day.",
    )

    def clean_expires_on(self) -> date | None:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError("Choose today or a later day.")
        return day

    def expires_at(self) -> datetime | None:
        """The end of the chosen day, in the server's time zone (after `is_valid()`)."""
        day: Any = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.max))
