from __future__ import annotations

from typing import Any

from django import template

from team.navigation import TABS, Tab, tabs_for

register = template.Library()


@register.simple_tag
def team_tabs(user: Any) -> list[Tab]:
    """`{% team_tabs request.user as tabs %}`: the team pages `user` may open, in tab order."""
    return tabs_for(user)


@register.filter
def tab_of(url_name: str | None) -> str:
    """The key of the tab whose pages `url_name` is one of: "person_edit" → "people"."""
    noun = (url_name or "").partition("_")[0]
    return next((tab.key for tab in TABS if tab.url_name.removeprefix("team:").partition("_")[0] == noun), "")
