from __future__ import annotations

from typing import Any

from django import template

from team.navigation import Tab, tabs_for

register = template.Library()


@register.simple_tag
def team_tabs(user: Any) -> list[Tab]:
    """`{% team_tabs request.user as tabs %}`: the team pages `user` may open, in tab order."""
    return tabs_for(user)
