from __future__ import annotations

import json
import secrets
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.forms import MASS_FORMAT, mass_order_parse, mass_order_place
from orders.management.commands._output import (
    EXIT_BAD_INPUT,
    EXIT_NOT_PLACED,
    NOT_PLACED,
    bad_input,
    order_line,
    provider_named,
    user_named,
)
from orders.services import order_submit_now


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

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        provider = provider_named(options["provider"])
        user = user_named(options["user"])
        try:
            text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise bad_input(f"{file}: {exc.strerror}") from None
        lines = mass_order_parse(text, provider=provider)
        if not lines:
            raise bad_input(f"no order lines in {file} (expected {MASS_FORMAT})")
        bad = [line for line in lines if not line.ok]
        if bad:
            for line in bad:
                self.stdout.write(json.dumps({"line": line.number, "error": line.error}, ensure_ascii=False))
            raise SystemExit(EXIT_BAD_INPUT)
        orders = mass_order_place(lines=lines, token=secrets.token_urlsafe(24), user=user, enqueue=False)
        failed = False
        for line, order in zip(lines, orders, strict=True):
            order = order_submit_now(order=order)
            failed |= order.status in NOT_PLACED
            self.stdout.write(order_line(order, line=line.number))
        if failed:
            raise SystemExit(EXIT_NOT_PLACED)
