from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.management.commands._output import (
    EXIT_BAD_INPUT,
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
from orders.services import OrderInvalid, SubmissionConflict, order_submit_now
from orders.services.mass import (
    MASS_FORMAT,
    MAX_CHARACTERS,
    MassLinesInvalid,
    mass_order_parse,
    mass_order_place,
)


class Command(BaseCommand):
    help = (
        f"Place every line of a mass order ({MASS_FORMAT}; FILE or - for stdin), each as its own "
        "order, and print one JSON line per order. Any bad line: nothing is placed, each bad line "
        'is printed as {"line", "error"} and the exit code is 2. Exit 1 when an order was '
        "rejected or may not have been placed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the mass order, or - for standard input")
        parser.add_argument("--provider", help="provider name (default: the only active one, JAP or Sandbox)")
        parser.add_argument("--user", help="the person the orders are placed for (username)")
        key_argument(parser)

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        provider = provider_named(options["provider"])
        user = user_named(options["user"])
        key = key_checked(options["idempotency_key"])
        text = read_text(sys.stdin if file == "-" else file, limit=MAX_CHARACTERS, what="a mass order")
        try:
            lines = mass_order_parse(text, provider=provider)
        except OrderInvalid as exc:
            raise bad_input(str(exc)) from None
        if not lines:
            raise bad_input(f"no order lines in {file} (expected {MASS_FORMAT})")
        try:
            orders = mass_order_place(
                lines=lines, provider=provider, token=key, user=user, all_or_nothing=True, enqueue=False
            )
        except MassLinesInvalid as exc:
            for line in exc.lines:
                self.stdout.write(json.dumps({"line": line.number, "error": line.error}, ensure_ascii=False))
            raise SystemExit(EXIT_BAD_INPUT) from None
        except SubmissionConflict as exc:
            raise key_conflict(key, exc) from None
        except OrderInvalid as exc:
            raise bad_input(str(exc)) from None
        failed = False
        for line, order in zip(lines, orders, strict=True):
            order = order_submit_now(order=order)
            failed |= order.status in NOT_PLACED
            self.stdout.write(order_line(order, line=line.number))
        if failed:
            raise SystemExit(EXIT_NOT_PLACED)
