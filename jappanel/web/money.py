"""Money as every page shows it: exact, never rounded."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal | None) -> str:
    """`value` exactly, with at least two decimals and no trailing zeros beyond them.

    Rates are quoted to five decimals and a cost can have eight: rounding would show a price
    that is not the one charged.
    """
    if value is None:
        return ""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:,.{places}f}"
