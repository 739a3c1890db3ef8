"""The team pages' tabs: one list behind the sub-navigation, the main nav's "Team" and its index."""

from __future__ import annotations

from typing import Any, NamedTuple

from jappanel.web.access import may


class Tab(NamedTuple):
    key: str
    label: str
    action: str
    url_name: str


# In the order they show.
TABS = [
    Tab("people", "People", "manage_people", "team:person_list"),
    Tab("budgets", "Budgets", "manage_budgets", "team:budget_list"),
    Tab("providers", "Providers", "manage_providers", "team:provider_list"),
    Tab("campaigns", "Campaigns", "manage_campaigns", "team:campaign_list"),
]


def tabs_for(user: Any) -> list[Tab]:
    """The tabs `user` may open; none means no "Team" in the nav."""
    return [tab for tab in TABS if may(user, tab.action)]
