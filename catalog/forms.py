from __future__ import annotations

from django import forms

from catalog.models import (
    MAX_QUANTITY,
    SHORTLIST_RULE_HELP,
    Service,
    ShortlistEntry,
    ShortlistRule,
    TeamPolicy,
)
from catalog.refill import LIFETIME, refill_days_label

PAGE_SIZES = (25, 50, 100)


class CatalogDisplayForm(forms.Form):
    """How the catalog page shows its rows: the quantity to price, and the page size.

    Kept apart from the FilterSet because neither narrows the query.
    """

    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_QUANTITY, required=False)
    per_page = forms.TypedChoiceField(
        label="Per page",
        choices=[(size, size) for size in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=PAGE_SIZES[0],
    )

    @property
    def cost_quantity(self) -> int | None:
        """The quantity to price every row at, if a valid one was given."""
        self.is_valid()  # an invalid value is left out of cleaned_data, not an error page
        return self.cleaned_data.get("quantity")

    @property
    def page_size(self) -> int:
        self.is_valid()
        return self.cleaned_data.get("per_page") or PAGE_SIZES[0]


class ShortlistEntryForm(forms.ModelForm):
    """A service's shortlist entry as a manager writes it in the service's panel."""

    class Meta:
        model = ShortlistEntry
        fields = ["house_name", "notes", "tags"]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "house_name": forms.TextInput(attrs={"placeholder": "IG followers — premium"}),
            "tags": forms.TextInput(attrs={"placeholder": "instagram, premium"}),
        }
        error_messages = {"house_name": {"required": "Give the service the name the team knows it by."}}

    def clean_house_name(self) -> str:
        return " ".join(self.cleaned_data["house_name"].split())

    def clean_tags(self) -> str:
        tags = ShortlistEntry.tags_clean(self.cleaned_data["tags"])
        if len(tags) > ShortlistEntry._meta.get_field("tags").max_length:
            raise forms.ValidationError("Fewer tags, please: they fit in 255 characters.")
        return tags


class TeamPolicyForm(forms.ModelForm):
    """The shortlist rule, one radio button per rule with the sentence that explains it."""

    class Meta:
        model = TeamPolicy
        fields = ["shortlist_rule"]
        widgets = {"shortlist_rule": forms.RadioSelect}

    @property
    def rules(self) -> list[tuple[str, str, str]]:
        """(value, label, what it means) of every rule, for the template."""
        return [(rule.value, rule.label, SHORTLIST_RULE_HELP[rule]) for rule in ShortlistRule]


class RefillPeriodForm(forms.Form):
    """A manager's correction of a service's refill period, or back to the panel's data."""

    KINDS = [
        ("panel", "As the panel says"),
        ("none", "No refill"),
        ("days", "A number of days"),
        ("lifetime", "Lifetime"),
    ]
    MAX_DAYS = 3650

    kind = forms.ChoiceField(label="Refill guarantee", choices=KINDS)
    days = forms.IntegerField(label="Days", min_value=1, max_value=MAX_DAYS, required=False)

    def __init__(self, *args: object, service: Service, **kwargs: object) -> None:
        override = service.refill_days_override
        kind = {None: "panel", 0: "none", LIFETIME: "lifetime"}.get(override, "days")
        kwargs.setdefault("initial", {"kind": kind, "days": override if kind == "days" else None})
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            ("panel", f"As the panel says ({refill_days_label(service.refill_days)})"),
            *self.KINDS[1:],
        ]

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("kind") == "days" and not data.get("days"):
            self.add_error("days", "How many days does the guarantee last?")
        return data

    @property
    def override(self) -> int | None:
        """The period to store (None: follow the panel)."""
        kind = self.cleaned_data["kind"]
        return {"panel": None, "none": 0, "lifetime": LIFETIME}.get(kind, self.cleaned_data.get("days"))
