from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.models import Service
from orders.management.commands._output import (
    EXIT_NOT_PLACED,
    NOT_PLACED,
    bad_input,
    key_argument,
    key_checked,
    key_conflict,
    order_line,
    provider_named,
    read_text,
    user_named,
)
from orders.services import OrderInvalid, SubmissionConflict, order_place, order_submit_now
from orders.services.placing import MAX_LIST_CHARACTERS


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
        parser.add_argument("--provider", help="provider name (default: the only active one, JAP or Sandbox)")
        parser.add_argument("--user", help="the person the order is placed for (username)")
        key_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        provider = provider_named(options["provider"])
        user = user_named(options["user"])
        key = key_checked(options["idempotency_key"])
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
        try:
            order = order_place(
                service=service,
                link=options["link"],
                quantity=options["quantity"],
                fields=fields,
                user=user,
                submission_token=key,
                enqueue=False,
            )
        except SubmissionConflict as exc:
            raise key_conflict(key, exc) from None
        except OrderInvalid as exc:
            raise bad_input(str(exc)) from None
        order = order_submit_now(order=order)
        self.stdout.write(order_line(order))
        if order.status in NOT_PLACED:
            raise SystemExit(EXIT_NOT_PLACED)
