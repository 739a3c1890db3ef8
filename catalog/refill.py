"""A service's refill guarantee, read from what the panel says of it: its `refill` flag and the
ways panels write the guarantee into the name.

The period is a number of days: 0 is no guarantee, LIFETIME a guarantee without end. The forms
read (case and spacing do not matter; README lists them too):

- `[Refill: 30D]`, `[Refill: 30 Days]`, `Refill 30D`, `Refill - 1 Month`, `[Refill: 1Y]`
- `30 Days Refill`, `30D Refill`, `30-Day Refill`, `30 Days Auto Refill`, `1 Year Refill`
- `R30`, `R30D`, `R365` (a word of its own)
- `♻️ 30D`, `♻ 30 Days`, `♻️30D`
- `Lifetime Refill`, `[Refill: Lifetime]`, `Refill Lifetime`, `♻️ Lifetime`, `Life Time Refill`
- `No Refill`, `Non Refill`, `Non-Refill`, `[Refill: No]`, `[Refill: None]`, `Refill ❌`, `0 Days Refill`

Units: D / Day(s), W / Week(s), M / Month(s) (30 days), Y / Year(s) (365 days); a bare number is
days. A service the panel flags without refill has none, whatever its name says (the panel
refuses its refills); a flagged service whose name says nothing is taken to have the commonest
guarantee, UNSTATED_DAYS; a name saying "No Refill" wins over the flag.
"""

from __future__ import annotations

import re

# "Lifetime", stored as a number of days: far enough to outlive any order, and sorting last.
LIFETIME = 36_500
# The period of a service flagged `refill` whose name states none: the panels' usual 30 days.
UNSTATED_DAYS = 30
# The longest period read from a name; a larger number is a misprint, read as this.
MAX_DAYS = LIFETIME

UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_UNIT = r"(?:d(?:ays?)?|w(?:eeks?)?|m(?:onths?)?|y(?:ears?|rs?)?)"
# At most five digits: a longer number is no period (and int() of a huge string is refused).
_AMOUNT = rf"(?P<n>\d{{1,5}})\s*-?\s*(?P<unit>{_UNIT})?(?![a-z0-9])"
_RECYCLE = "\u267b\ufe0f?"

_NONE = re.compile(
    r"\bno[nt]?[\s-]*refill|\brefill\s*[:\-]?\s*(?:no|none|off|❌|✖️?|✗)(?![a-z])|\bwithout\s+refill",
    re.IGNORECASE,
)
_LIFETIME = re.compile(
    rf"\blife\s*-?\s*time\s*(?:auto\s*)?refill|\brefill\s*[:\-]?\s*(?:\[|\()?\s*life\s*-?\s*time"
    rf"|{_RECYCLE}\s*life\s*-?\s*time|\bR\s*∞|\brefill\s*[:\-]?\s*∞",
    re.IGNORECASE,
)
_PERIOD = (
    # [Refill: 30D], Refill 30 Days, Refill - 1 Month
    re.compile(rf"\b(?:auto\s*)?refill\s*[:\-]?\s*(?:\[|\()?\s*{_AMOUNT}", re.IGNORECASE),
    # 30 Days Refill, 30D Auto Refill, 30-Day Refill
    re.compile(
        rf"(?<![a-z0-9.])(?P<n>\d{{1,5}})\s*-?\s*(?P<unit>{_UNIT})?\s*(?:auto\s*)?refill", re.IGNORECASE
    ),
    # ♻️ 30D
    re.compile(rf"{_RECYCLE}\s*{_AMOUNT}", re.IGNORECASE),
    # R30, R30D: a word of its own
    re.compile(rf"(?<![a-z0-9])R\s?{_AMOUNT}", re.IGNORECASE),
)


def refill_days_parse(name: str, refill: bool) -> int:
    """The refill period in days (0: none, LIFETIME: without end) of a service named `name`
    whose `refill` flag the panel reports. Never raises."""
    if not refill or _NONE.search(name):
        return 0
    if _LIFETIME.search(name):
        return LIFETIME
    for pattern in _PERIOD:
        if found := pattern.search(name):
            unit = (found["unit"] or "d")[0].lower()
            return min(int(found["n"]) * UNIT_DAYS[unit], MAX_DAYS)
    return UNSTATED_DAYS


def refill_days_label(days: int | None) -> str:
    """`days` as a person reads it: "No refill", "30 days", "Lifetime"."""
    if not days:
        return "No refill"
    if days >= LIFETIME:
        return "Lifetime"
    return "1 day" if days == 1 else f"{days} days"
