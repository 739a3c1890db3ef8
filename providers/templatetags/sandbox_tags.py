"""`{% sandbox_mark provider %}`: the mark beside every service, order or figure of the simulator."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from providers.models import Provider

register = template.Library()
MARK = (
    '<span class="badge sandbox" title="The built-in simulator: nothing is bought and no real money '
    'is spent">Sandbox — no real money</span>'
)


@register.simple_tag
def sandbox_mark(thing: Provider | object) -> SafeString | str:
    """ "Sandbox — no real money" when `thing` (a provider, or a report row) `is_sandbox`, else
    nothing. A tag rather than an include: it sits on every row of long lists."""
    if not getattr(thing, "is_sandbox", False):
        return ""
    return mark_safe(MARK)
