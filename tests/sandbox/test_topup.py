"""Top-ups: the management command and the admin action."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from providers.sandbox.models import Account

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_adds_the_amount_to_the_sandbox_balance(account: Account, capsys: object) -> None:
    call_command("sandbox_topup", "25.12345")

    account.refresh_from_db()
    assert account.balance == Decimal("1025.12345")
    assert "1025.12345 USD" in capsys.readouterr().out


def test_the_command_can_top_up_another_account(account: Account) -> None:
    other = Account.objects.create(api_key="other-key", balance=Decimal("1"))

    call_command("sandbox_topup", "2", "--key", "other-key")

    other.refresh_from_db()
    assert other.balance == Decimal("3")


@pytest.mark.parametrize("amount", ["abc", "0", "-5", "NaN", "Infinity", "1.000001", "", "1e9"])
def test_the_command_refuses_a_bad_amount_with_one_line(account: Account, amount: str) -> None:
    with pytest.raises(CommandError) as error:
        call_command("sandbox_topup", amount)

    assert "\n" not in str(error.value)
    account.refresh_from_db()
    assert account.balance == Decimal("1000")


def test_the_command_refuses_an_unknown_key(account: Account) -> None:
    with pytest.raises(CommandError, match="no sandbox account"):
        call_command("sandbox_topup", "5", "--key", "nobody")


def test_a_bad_amount_exits_non_zero_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "sandbox_topup", "lots"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DATA_DIR": str(tmp_path)},
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "CommandError: sandbox_topup: 'lots' is not a number, e.g. 100 or 25.50"
    ]


def test_the_admin_action_tops_up_the_selected_accounts(admin_client: Client, account: Account) -> None:
    response = admin_client.post(
        "/admin/sandbox/account/",
        {"action": "topup_100", "_selected_action": [account.pk]},
        follow=True,
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert account.balance == Decimal("1100")
