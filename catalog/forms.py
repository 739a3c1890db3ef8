from __future__ import annotations

from django import forms

from catalog.models import MAX_QUANTITY, SHORTLIST_RULE_HELP, ShortlistEntry, ShortlistRule, TeamPolicy

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
