from __future__ import annotations

import dataclasses
import getpass
import json
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.client import ItemError, JapClient, ProviderError
from providers.client.orders import OrderFieldError
from providers.models import Provider
from providers.services import MONEY_ACTIONS, ProviderNotFound, provider_choose, provider_money_call_record


def _ids(value: str) -> list[int]:
    try:
        return [int(item) for item in value.split(",") if item.strip()]
    except ValueError:
        raise CommandError(f"expected comma-separated order ids, got {value!r}") from None


def _id(value: str) -> int:
    ids = _ids(value)
    if len(ids) != 1:
        raise CommandError(f"expected one id, got {value!r}")
    return ids[0]


Action = Callable[[JapClient, dict[str, str]], Any]


def _one_or_many(
    single: str,
    many: str,
    one: Callable[[JapClient, int], Any],
    several: Callable[[JapClient, list[int]], Any],
) -> Action:
    def run(client: JapClient, params: dict[str, str]) -> Any:
        if set(params) == {single}:
            return one(client, _id(params[single]))
        if set(params) == {many}:
            return several(client, _ids(params[many]))
        raise CommandError(f"give either {single}=ID or {many}=ID,ID,...")

    return run


def _no_params(method: Callable[[JapClient], Any]) -> Action:
    def run(client: JapClient, params: dict[str, str]) -> Any:
        if params:
            raise CommandError(f"this action takes no parameters, got {', '.join(sorted(params))}")
        return method(client)

    return run


def _add(client: JapClient, params: dict[str, str]) -> dict[str, int]:
    fields = dict(params)
    if "service" not in fields:
        raise CommandError("add needs service=ID and the fields of its type (link=..., quantity=...)")
    service = _id(fields.pop("service"))
    try:
        return {"order": client.add(service, **fields)}
    except OrderFieldError as exc:
        raise CommandError(str(exc)) from exc


# Every action answers one JSON object (a bare id or status is given its name).
ACTIONS: dict[str, Action] = {
    "services": _no_params(JapClient.services),
    "balance": _no_params(JapClient.balance),
    "add": _add,
    "status": _one_or_many("order", "orders", JapClient.status, JapClient.statuses),
    "refill": _one_or_many(
        "order", "orders", lambda c, i: {"order": i, "refill": c.refill(i)}, JapClient.refills
    ),
    "refill_status": _one_or_many(
        "refill",
        "refills",
        lambda c, i: {"refill": i, "status": c.refill_status(i)},
        JapClient.refill_statuses,
    ),
    "cancel": _one_or_many("order", "orders", lambda c, i: c.cancel([i]), JapClient.cancel),
}


def to_json(value: Any) -> Any:
    """Results as JSON-ready data: dataclasses as objects, Decimals as strings."""
    if isinstance(value, ItemError):
        return {"error": value.message}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


class Command(BaseCommand):
    help = (
        "Call one JAP API v2 action and print the parsed answer as one JSON object, e.g. `jap balance`, "
        "`jap status orders=1,2`, `jap add service=1 link=https://example.com/p quantity=100 --yes`. "
        "add, refill and cancel spend money: they need --yes and are written to the audit log."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Options before, between or after the action and its key=value parameters, as the
        # usage reads (`jap status --provider JAP orders=1,2`).
        parser.parse_args = parser.parse_intermixed_args  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", help=", ".join(ACTIONS))
        parser.add_argument("params", nargs="*", metavar="key=value", help="the action's parameters")
        parser.add_argument("--provider", help="provider name (default: the only active one, JAP or Sandbox)")
        parser.add_argument(
            "--yes",
            action="store_true",
            help=f"confirm an action that spends money ({', '.join(MONEY_ACTIONS)})",
        )
        parser.add_argument(
            "--user", help="who is operating, for the audit log (default: the operating-system user)"
        )
        parser.add_argument("--pretty", action="store_true", help="indent the JSON (several lines)")

    def handle(
        self,
        *args: Any,
        action: str,
        params: list[str],
        provider: str | None,
        yes: bool,
        user: str | None,
        pretty: bool,
        **options: Any,
    ) -> None:
        if action not in ACTIONS:
            raise CommandError(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}")
        parsed = self._parse_params(params)
        if action in MONEY_ACTIONS and not yes:
            raise CommandError(
                f"{action} spends money: run it again with --yes to confirm (it is written to the audit log)"
            )
        operator = _operator(user) if action in MONEY_ACTIONS else None
        chosen = self._provider(provider)

        def record(outcome: dict[str, Any]) -> None:
            if operator is not None:
                person, name = operator
                provider_money_call_record(
                    provider=chosen, action=action, params=parsed, outcome=outcome, user=person, operator=name
                )

        try:
            with chosen.client() as client:
                result = to_json(ACTIONS[action](client, parsed))
        except ProviderError as exc:
            record({"error": f"{type(exc).__name__}: {exc}"})
            raise CommandError(f"{chosen.name}: {type(exc).__name__}: {exc}") from exc
        # Printed first: money was spent, and whoever spent it must see the answer.
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2 if pretty else None))
        record({"answer": result})

    @staticmethod
    def _parse_params(params: list[str]) -> dict[str, str]:
        parsed: dict[str, str] = {}
        for param in params:
            key, sep, value = param.partition("=")
            if not sep or not key.strip():
                raise CommandError(f"expected key=value, got {param!r}")
            if key.strip() in parsed:
                raise CommandError(f"{key.strip()} given twice")
            parsed[key.strip()] = value
        return parsed

    @staticmethod
    def _provider(name: str | None) -> Provider:
        try:
            return provider_choose(name=name)
        except ProviderNotFound as exc:
            raise CommandError(str(exc)) from None


def _operator(username: str | None) -> tuple[Any, str]:
    """Who runs a money action: one of our users (`--user`), else the operating-system user."""
    if username is not None:
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        if person is None:
            raise CommandError(f"unknown user {username!r} (--user names an active jappanel user)")
        return person, username
    try:
        return None, getpass.getuser()
    except (KeyError, OSError):  # a uid with no name (containers)
        return None, f"uid {os.getuid()}"
