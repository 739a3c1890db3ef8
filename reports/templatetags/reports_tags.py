"""The charts and figures of the reports page: inline SVG with no style attribute (the CSP allows
stylesheets from our own origin only), sized by SVG attributes and coloured by reports.css."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jappanel.web.money import money
from reports.services import ReportRow, percent

register = template.Library()

WIDTH = 600
LABEL_WIDTH = 170
VALUE_WIDTH = 90
BAR_HEIGHT = 18
BAR_GAP = 6
LINE_HEIGHT = 120
PAD = 4
MAX_DOTS = 62  # beyond about two months of days, dots would overlap into a thick line


@register.filter(name="percent")
def percent_display(value: Decimal | None) -> str:
    """`45.3%`, or an empty string when there is no budget to compare with."""
    shown = percent(value)
    return "" if shown is None else f"{shown}%"


@register.simple_tag
def spend_bars(rows: Sequence[ReportRow], currency: str) -> SafeString:
    """Net spend per group as horizontal bars, the largest at full width."""
    high = max((row.net for row in rows), default=Decimal(0))
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(rows) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP

    def bar(index: int, row: ReportRow) -> tuple[object, ...]:
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        length = 0.0 if not high else float(row.net / high) * span
        text_y = y + BAR_HEIGHT - 5
        return (
            text_y,
            truncatechars(row.label, 26),
            LABEL_WIDTH,
            y,
            round(max(length, 1.0), 1),
            BAR_HEIGHT,
            SafeString(' class="empty"') if not row.net else "",
            row.label,
            money(row.net),
            currency,
            round(LABEL_WIDTH + max(length, 1.0) + 6, 1),
            text_y,
            money(row.net),
        )

    bars = format_html_join(
        "",
        '<text class="label" x="0" y="{}">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}"{}><title>{}: {} {}</title></rect>'
        '<text class="value" x="{}" y="{}">{}</text>',
        (bar(i, row) for i, row in enumerate(rows)),
    )
    return format_html(
        '<figure class="report-chart bars">'
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg></figure>',
        WIDTH,
        height,
        f"Net spend per group in {currency}",
        bars,
    )


@register.simple_tag
def spend_line(days: Sequence[tuple[date, Decimal]], currency: str) -> SafeString:
    """Net spend per day as a line, the highest day at the top."""
    if not days:
        return SafeString("")
    high = max(amount for _, amount in days)
    step = (WIDTH - 2 * PAD) / max(len(days) - 1, 1)

    def point(index: int, amount: Decimal) -> str:
        rise = 0.0 if not high else float(amount / high) * (LINE_HEIGHT - 2 * PAD)
        return f"{PAD + index * step:.1f},{LINE_HEIGHT - PAD - rise:.1f}"

    points = " ".join(point(i, amount) for i, (_, amount) in enumerate(days))
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3"><title>{}: {} {}</title></circle>',
        (
            (*point(i, amount).split(","), f"{day:%d %b}", money(amount), currency)
            for i, (day, amount) in enumerate(days)
            if len(days) <= MAX_DOTS
        ),
    )
    total = sum((amount for _, amount in days), Decimal(0))
    return format_html(
        '<figure class="report-chart line"><svg viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<polyline points="{}"></polyline>{}</svg>'
        "<figcaption><span>{}</span><span>highest day {} {}</span><span>{}</span></figcaption></figure>",
        WIDTH,
        LINE_HEIGHT,
        f"Net spend per day, {money(total)} {currency} over {len(days)} days",
        points,
        dots,
        f"{days[0][0]:%d %b}",
        money(high),
        currency,
        f"{days[-1][0]:%d %b}",
    )
