"""The template tags every app's pages share: `{% load web %}`.

- `value|money`: an amount exactly (jappanel.web.money);
- `user|may:"place_order"`: whether the person may take an action of the ACTIONS map
  (jappanel.web.access); several actions separated by commas ask for any of them;
- `form.data|line_count:"links"`: the non-blank lines of a posted field (the shared field partial);
- `providers|options:"name"`: (pk, name) pairs of model objects, for the shared filter select;
- `{% cursor_query "newer" page.newer "older" %}`: this page's query string moved to another keyset page
  (the shared keyset pager).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django import template
from django.template.defaulttags import querystring

from jappanel.web import access
from jappanel.web import money as amounts

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    return amounts.money(value)


@register.filter
def may(user: Any, actions: str) -> bool:
    """Whether `user` may take one of `actions` (names of jappanel.web.access.ACTIONS, comma-separated)."""
    return any(access.may(user, action.strip()) for action in actions.split(","))


@register.filter
def line_count(data: Mapping[str, Any], name: str) -> int:
    """The non-blank lines of field `name` in posted form data: what a line-counted order counts."""
    return sum(1 for line in str(data.get(name, "")).splitlines() if line.strip())


@register.filter
def options(objects: Iterable[Any], label: str) -> list[tuple[Any, Any]]:
    """(pk, label) of each of `objects`: `label` names an attribute or a method without arguments."""
    pairs = []
    for obj in objects:
        value = getattr(obj, label)
        pairs.append((obj.pk, value() if callable(value) else value))
    return pairs


@register.simple_tag(takes_context=True)
def cursor_query(context: template.Context, key: str, cursor: str | None, other: str) -> str:
    """`{% querystring %}` with `key` set to `cursor` (dropped if None) and `other` dropped: the
    keyset pager's links, whatever a page names its two cursors."""
    return querystring(context, **{key: cursor, other: None})
