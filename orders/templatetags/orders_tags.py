"""Status badges and the spend chart of the orders pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jappanel.web.money import money
from orders.models import Order, OrderStatus, RefillStatus
from providers.client.urls import host_of
from providers.models import Provider

register = template.Library()

STATUS_TONES = {
    OrderStatus.COMPLETED: "ok",
    OrderStatus.PARTIAL: "warn",
    OrderStatus.REJECTED: "bad",
    OrderStatus.UNCONFIRMED: "bad",
    OrderStatus.QUEUED: "info",
    OrderStatus.WAITING_FOR_LINK: "warn",
    OrderStatus.SUBMITTING: "info",
    OrderStatus.PENDING: "info",
    OrderStatus.IN_PROGRESS: "info",
    OrderStatus.PROCESSING: "info",
    OrderStatus.OTHER: "warn",
    OrderStatus.AWAITING_APPROVAL: "warn",
    OrderStatus.DECLINED: "bad",
    RefillStatus.FAILED: "bad",
    RefillStatus.REFUSED: "warn",
    RefillStatus.UNCONFIRMED: "bad",
}
FIELD_LABELS = {
    "runs": "Drip-feed runs",
    "interval": "Minutes between runs",
    "answer_number": "Answer number",
    "old_posts": "Old posts",
    "type_of_traffic": "Type of traffic",
    "google_keyword": "Google keyword",
    "referring_url": "Referring URL",
    "min": "Minimum per post",
    "max": "Maximum per post",
    "delay": "Delay (minutes)",
}
CHART_WIDTH = 600
CHART_HEIGHT = 140
CHART_PAD = 4


@register.filter
def tone(status: str) -> str:
    """The badge class of an order or refill status."""
    return STATUS_TONES.get(status, "")


@register.filter
def refill_status_label(status: str) -> str:
    """A refill status read from a query's values (no model instance to ask)."""
    return RefillStatus(status).label if status in RefillStatus.values else status


@register.simple_tag
def spend_chart(days: Sequence[tuple[date, Decimal]], currency: str) -> SafeString:
    """Spend per day as bars in inline SVG, the highest day at full height."""
    high = max((amount for _, amount in days), default=Decimal(0))
    slot = (CHART_WIDTH - 2 * CHART_PAD) / max(len(days), 1)

    def bar(index: int, amount: Decimal) -> tuple[float, float, float, float]:
        height = 0.0 if not high else float(amount / high) * (CHART_HEIGHT - 2 * CHART_PAD)
        return (
            round(CHART_PAD + index * slot + slot * 0.15, 1),
            round(CHART_HEIGHT - CHART_PAD - max(height, 1.0), 1),
            round(slot * 0.7, 1),
            round(max(height, 1.0), 1),
        )

    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}"{}><title>{}: {} {}</title></rect>',
        (
            (
                *bar(i, amount),
                SafeString(' class="empty"') if not amount else "",
                f"{day:%d %b}",
                money(amount),
                currency,
            )
            for i, (day, amount) in enumerate(days)
        ),
    )
    total = sum((amount for _, amount in days), Decimal(0))
    first, last = (days[0][0], days[-1][0]) if days else (None, None)
    return format_html(
        '<figure class="spend-chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>'
        "<figcaption><span>{}</span><span>highest day {} {}</span><span>{}</span></figcaption></figure>",
        CHART_WIDTH,
        CHART_HEIGHT,
        f"Spend per day, {money(total)} {currency} over {len(days)} days",
        bars,
        f"{first:%d %b}" if first else "",
        money(high),
        currency,
        f"{last:%d %b}" if last else "",
    )


@register.filter
def delivered(order: Order) -> int:
    """How much of the order the provider delivered so far (its quantity less what remains)."""
    return max((order.quantity or 0) - (order.remains or 0), 0)


@register.filter
def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


@register.filter
def panel_orders_url(provider: Provider) -> str:
    """The provider's own orders page (on the API's host), or "" for a panel without one."""
    url = urlsplit(provider.api_url)
    return f"{url.scheme}://{host_of(provider.api_url)}/orders" if url.scheme in ("http", "https") else ""
