from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.sandbox.services import account_authenticate, account_topup, sandbox_account_get


class Command(BaseCommand):
    help = "Add money to the sandbox panel's balance (the account the Sandbox provider uses, unless --key)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("amount", help="amount in the account currency, e.g. 100 or 25.50")
        parser.add_argument("--key", help="API key of another sandbox account")

    def handle(self, *args: object, amount: str, key: str | None, **options: object) -> None:
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise CommandError(f"sandbox_topup: {amount!r} is not a number, e.g. 100 or 25.50") from None
        account = account_authenticate(key=key) if key else sandbox_account_get()
        if account is None:
            raise CommandError("sandbox_topup: no sandbox account has this API key")
        try:
            account = account_topup(account=account, amount=value)
        except ValueError as error:
            raise CommandError(f"sandbox_topup: {error}") from None
        self.stdout.write(f"Sandbox balance: {account.balance} {account.currency}")
