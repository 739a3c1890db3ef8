"""Costs, limits, elapsed time, the scorecards' shares and durations, and the catalog's price chart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.models import Service, ServicePriceChange
from catalog.refill import refill_days_label
from jappanel.web.money import money

register = template.Library()

# JAP's way of saying "no maximum".
UNLIMITED = 2_147_483_647
CHART_WIDTH = 320
CHART_HEIGHT = 96
CHART_PAD = 6


@register.filter
def refill_label(days: int | None) -> str:
    return refill_days_label(days)


@register.filter
def cost(service: Service, quantity: int) -> Decimal:
    return service.cost(quantity)


@register.filter
def limit(quantity: int) -> str:
    return "no limit" if quantity >= UNLIMITED else intcomma(quantity)


@register.filter
def marked_new(service: Service) -> bool:
    """First seen this week, by a sync after the provider's first one (needs `first_synced_at`).

    Everything a first sync brings is "first seen" at once; marking it all new would say nothing.
    """
    synced = getattr(service, "first_synced_at", None)
    return service.is_new and synced is not None and service.first_seen_at > synced


@register.filter
def trend(service: Service) -> str:
    """ "up" or "down" when the rate moved over the last week (needs `week_old_rate`)."""
    before = getattr(service, "week_old_rate", None)
    if before is None or before == service.rate:
        return ""
    return "up" if service.rate > before else "down"


@register.filter
def percent(share: Decimal | None) -> str:
    """A share (0 to 1) as a percentage: "92%"; one decimal where rounding would say all or none
    ("99.9%", "0.1%") when it is not."""
    if share is None:
        return ""
    value = share * 100
    whole = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if whole == value or 1 <= value <= 99:
        return f"{whole}%"
    tenth = value.quantize(Decimal("0.1"), rounding=ROUND_DOWN if value > 99 else ROUND_UP)
    return f"{tenth}%"


@register.filter
def duration(seconds: int | None) -> str:
    """Seconds as the two largest units: "45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    if seconds is None:
        return ""
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    parts = []
    rest = int(seconds)
    for name, size in units:
        amount, rest = divmod(rest, size)
        if amount or (parts and len(parts) < 2):
            parts.append(f"{amount} {name}")
        if len(parts) == 2:
            break
    parts = [part for part in parts if not part.startswith("0 ")]
    return " ".join(parts) or "0 s"


@register.filter
def elapsed(since: datetime) -> str:
    """Time since `since`, to the second: "42 s", "3 min 05 s"."""
    seconds = max(0, int((timezone.now() - since).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@register.simple_tag
def price_chart(service: Service, changes: Sequence[ServicePriceChange]) -> SafeString:
    """The rate over time as a step line in inline SVG, one dot per recorded change."""
    history = sorted(changes, key=lambda change: change.changed_at)
    now = timezone.now()
    start = min([service.first_seen_at, *(change.changed_at for change in history)])
    points = [(start, history[0].old_rate if history else service.rate)]
    points += [(change.changed_at, change.new_rate) for change in history]
    points.append((now, service.rate))
    low = min(rate for _, rate in points)
    high = max(rate for _, rate in points)
    duration = (now - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        return round(
            CHART_PAD + (CHART_WIDTH - 2 * CHART_PAD) * (moment - start).total_seconds() / duration, 1
        )

    def y(rate: Decimal) -> float:
        if high == low:
            return CHART_HEIGHT / 2
        return round(CHART_PAD + (CHART_HEIGHT - 2 * CHART_PAD) * float((high - rate) / (high - low)), 1)

    path = f"M{x(points[0][0])} {y(points[0][1])}" + "".join(
        f" H{x(moment)} V{y(rate)}" for moment, rate in points[1:]
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3"><title>{}: {} → {}</title></circle>',
        (
            (x(c.changed_at), y(c.new_rate), f"{c.changed_at:%Y-%m-%d}", money(c.old_rate), money(c.new_rate))
            for c in history
        ),
    )
    return format_html(
        '<figure class="price-chart">'
        '<div class="price-chart-plot"><span class="price-chart-high">{}</span>'
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<path d="{}"/>{}</svg><span class="price-chart-low">{}</span></div>'
        "<figcaption>{} to today</figcaption></figure>",
        money(high),
        CHART_WIDTH,
        CHART_HEIGHT,
        f"Rate per 1000 between {money(low)} and {money(high)} since {start:%Y-%m-%d}",
        path,
        dots,
        money(low),
        f"{timezone.localtime(start):%d %b %Y}",
    )
