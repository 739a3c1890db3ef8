from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.management.output import (
    EXIT_BAD_INPUT,
    bad_input,
    orders_send_now,
    placing_arguments,
    placing_options,
    placing_refusals,
    read_text,
)
from orders.services.common import OrderInvalid
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
        placing_arguments(parser, placed="orders are")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        provider, user, key = placing_options(options)
        text = read_text(sys.stdin if file == "-" else file, limit=MAX_CHARACTERS, what="a mass order")
        try:
            lines = mass_order_parse(text, provider=provider)
        except OrderInvalid as exc:
            raise bad_input(str(exc)) from None
        if not lines:
            raise bad_input(f"no order lines in {file} (expected {MASS_FORMAT})")
        # Inside placing_refusals: a mass order's bad lines are an OrderInvalid printed line by line.
        with placing_refusals(key):
            try:
                orders = mass_order_place(
                    lines=lines, provider=provider, token=key, user=user, all_or_nothing=True, enqueue=False
                )
            except MassLinesInvalid as exc:
                for bad in exc.lines:
                    error = {"line": bad.number, "error": bad.error}
                    self.stdout.write(json.dumps(error, ensure_ascii=False))
                raise SystemExit(EXIT_BAD_INPUT) from None
        orders_send_now(
            ((order, {"line": line.number}) for line, order in zip(lines, orders, strict=True)), self.stdout
        )
