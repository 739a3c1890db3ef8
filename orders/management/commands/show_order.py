from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.management.output import bad_input
from orders.models import Order


def _json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | list | dict):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Command(BaseCommand):
    help = "Print one order as JSON: its fields, events, refills and cancel requests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="the order's code")

    def handle(self, *args: Any, code: str, **options: Any) -> None:
        order = Order.objects.select_related("provider", "service", "user").filter(code=code.upper()).first()
        if order is None:
            raise bad_input(f"no order {code!r}")
        data = {
            field.attname: _json(getattr(order, field.attname))
            for field in Order._meta.concrete_fields
            if field.name != "submission_token"
        }
        data.update(
            provider=order.provider.name,
            service_name=order.service.name,
            user=order.user.get_username() if order.user else None,
            events=[
                {
                    "at": _json(e.at),
                    "kind": e.kind,
                    "from": e.from_status,
                    "to": e.to_status,
                    "message": e.message,
                    "user": e.user.get_username() if e.user else None,
                }
                for e in order.events.select_related("user")
            ],
            refills=[
                {
                    "provider_refill_id": r.provider_refill_id,
                    "status": r.status,
                    "error": r.error,
                    "requested_at": _json(r.requested_at),
                }
                for r in order.refills.all()
            ],
            cancel_requests=[
                {"accepted": c.accepted, "answer": c.answer, "requested_at": _json(c.requested_at)}
                for c in order.cancel_requests.all()
            ],
        )
        self.stdout.write(json.dumps(data, ensure_ascii=False))
