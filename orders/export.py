"""The orders CSV: one set of columns for the orders page and the admin."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponseBase

from jappanel.web import csv as web_csv
from jappanel.web.csv import csv_response
from orders.models import Order

# Field → column name, in the file's order.
CSV_COLUMNS = {
    "code": "code",
    "created_at": "created",
    "status": "status",
    "provider_status": "provider status",
    "provider__name": "provider",
    "service__service_id": "service id",
    "service__name": "service",
    "link": "link",
    "quantity": "quantity",
    "estimated_charge": "estimated charge",
    "charge": "charge",
    "currency": "currency",
    "provider_order_id": "provider order id",
    "start_count": "start count",
    "remains": "remains",
    "user__username": "placed by",
    "campaign__name": "campaign",
    "last_error": "last error",
}


def orders_csv(orders: QuerySet[Order]) -> HttpResponseBase:
    """`orders`, newest first, as orders.csv (read in chunks: the list may hold millions)."""
    return _csv(orders.order_by("-created_at", "-pk"), CSV_COLUMNS, "orders.csv")


# The Refills due CSV: field → column name.
DUE_COLUMNS = {
    "code": "code",
    "campaign__name": "campaign",
    "provider__name": "provider",
    "service__platform": "platform",
    "service__service_id": "service id",
    "service__name": "service",
    "link": "link",
    "quantity": "quantity",
    "provider_order_id": "provider order id",
    "status": "status",
    "finished_at": "completed",
    "refill_until": "refill guarantee until",
    "last_refill_at": "last refill requested",
    "last_refill_status": "last refill status",
}


def refills_due_csv(orders: QuerySet[Order]) -> HttpResponseBase:
    """The orders due a refill, expiring soonest first, as refills-due.csv."""
    return _csv(orders.order_by("refill_until", "pk"), DUE_COLUMNS, "refills-due.csv")


def _csv(orders: QuerySet[Order], columns: dict[str, str], filename: str) -> HttpResponseBase:
    # One fetch per rendered batch: a row the database cannot convert fails its whole fetch.
    rows = orders.values_list(*columns).iterator(chunk_size=web_csv.BATCH_ROWS)
    return csv_response(filename=filename, header=list(columns.values()), rows=rows)
