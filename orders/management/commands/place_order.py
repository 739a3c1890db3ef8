from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.models import Service
from orders.management.output import (
    bad_input,
    orders_send_now,
    placing_arguments,
    placing_options,
    placing_refusals,
    read_text,
)
from orders.services.placing import MAX_LIST_CHARACTERS, order_place


def _fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise bad_input(f"--field expects name=value, got {pair!r}")
        fields[name.strip()] = value
    return fields


class Command(BaseCommand):
    help = (
        "Place one order (it spends money): validate, queue and send it now, then print "
        '{"code", "status", "provider_order_id", "charge", "error"}. Exit 1 when the order was '
        "rejected or may not have been placed (unconfirmed), 2 on bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service", type=int, required=True, help="the provider's service id")
        parser.add_argument("--link", default="")
        parser.add_argument("--quantity", type=int)
        parser.add_argument("--runs", type=int, help="drip-feed: number of runs")
        parser.add_argument("--interval", type=int, help="drip-feed: minutes between runs")
        parser.add_argument("--comments-file", type=Path, help="comments, one per line")
        parser.add_argument(
            "--field", action="append", default=[], metavar="NAME=VALUE", help="any other field of the type"
        )
        placing_arguments(parser, placed="order is")

    def handle(self, *args: Any, **options: Any) -> None:
        provider, user, key = placing_options(options)
        service = (
            Service.objects.select_related("provider")
            .filter(provider=provider, service_id=options["service"])
            .first()
        )
        if service is None:
            raise bad_input(f"{provider.name} has no service {options['service']} (run sync_catalog?)")
        fields: dict[str, Any] = _fields(options["field"])
        for name in ("runs", "interval"):
            if options[name] is not None:
                fields[name] = options[name]
        if options["comments_file"] is not None:
            fields["comments"] = read_text(
                options["comments_file"], limit=MAX_LIST_CHARACTERS, what="--comments-file"
            )
        with placing_refusals(key):
            order = order_place(
                service=service,
                link=options["link"],
                quantity=options["quantity"],
                fields=fields,
                user=user,
                submission_token=key,
                enqueue=False,
            )
        orders_send_now([(order, {})], self.stdout)
