from __future__ import annotations

from django import forms

PAGE_SIZES = (25, 50, 100)
# JAP's "unlimited" maximum; a larger quantity cannot be ordered anywhere.
MAX_QUANTITY = 2_147_483_647


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
