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

# Each is matched in the lower-cased name (IGNORECASE costs several times more), just after
# or just before each "refill" in it: a sync reads tens of thousands of names.
_SEP = r"\s*[:\-]?\s*[\[(]?\s*"
_NONE_AFTER = re.compile(rf"{_SEP}(?:no|none|off|❌|✖️?|✗)(?![a-z])")
_NONE_BEFORE = re.compile(r"(?:(?<![a-z])no[nt]?[\s-]*|(?<![a-z])without\s+)$")
_LIFETIME_AFTER = re.compile(rf"{_SEP}(?:life\s*-?\s*time|∞)")
_LIFETIME_BEFORE = re.compile(r"(?<![a-z])life\s*-?\s*time\s*(?:auto\s*)?$")
_LIFETIME_ELSEWHERE = re.compile(rf"{_RECYCLE}\s*life\s*-?\s*time|(?<![a-z0-9])r\s*∞")
_PERIOD_AFTER = re.compile(rf"{_SEP}{_AMOUNT}")
_PERIOD_BEFORE = re.compile(rf"(?<![a-z0-9.])(?P<n>\d{{1,5}})\s*-?\s*(?P<unit>{_UNIT})?\s*(?:auto\s*)?$")
_PERIOD_RECYCLE = re.compile(rf"{_RECYCLE}\s*{_AMOUNT}")
_PERIOD_R = re.compile(rf"(?<![a-z0-9])r\s?{_AMOUNT}")
# How far before "refill" its qualifier is looked for ("45 days auto ", "life time ").
_BEFORE = 24


def _refills(lower: str) -> list[int]:
    """The positions of "refill" in `lower`."""
    found, at = [], lower.find("refill")
    while at >= 0:
        found.append(at)
        at = lower.find("refill", at + 6)
    return found


def _days(found: re.Match[str]) -> int:
    unit = (found["unit"] or "d")[0]
    return min(int(found["n"]) * UNIT_DAYS[unit], MAX_DAYS)


def refill_days_parse(name: str, refill: bool) -> int:
    """The refill period in days (0: none, LIFETIME: without end) of a service named `name`
    whose `refill` flag the panel reports. Never raises."""
    if not refill:
        return 0
    lower = name.lower()
    spots = _refills(lower)
    if any(
        _NONE_AFTER.match(lower, at + 6) or _NONE_BEFORE.search(lower, max(0, at - _BEFORE), at)
        for at in spots
    ):
        return 0
    if any(
        _LIFETIME_AFTER.match(lower, at + 6) or _LIFETIME_BEFORE.search(lower, max(0, at - _BEFORE), at)
        for at in spots
    ) or (("\u267b" in lower or "∞" in lower) and _LIFETIME_ELSEWHERE.search(lower)):
        return LIFETIME
    for at in spots:
        if found := _PERIOD_AFTER.match(lower, at + 6):
            return _days(found)
    for at in spots:
        if found := _PERIOD_BEFORE.search(lower, max(0, at - _BEFORE), at):
            return _days(found)
    if "\u267b" in lower and (found := _PERIOD_RECYCLE.search(lower)):
        return _days(found)
    if found := _PERIOD_R.search(lower):
        return _days(found)
    return UNSTATED_DAYS


def refill_days_label(days: int | None) -> str:
    """`days` as a person reads it: "No refill", "30 days", "Lifetime"."""
    if not days:
        return "No refill"
    if days >= LIFETIME:
        return "Lifetime"
    return "1 day" if days == 1 else f"{days} days"
