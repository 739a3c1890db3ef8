"""`manage.py jap ACTION [--provider NAME] [k=v ...]`: parsed answers as JSON, one line on failure."""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from responses import matchers

from audit.models import AuditAction, AuditEntry
from providers.models import Provider
from providers.services import provider_bootstrap
from tests.providers.conftest import API_KEY, API_URL


def jap(*args: str) -> object:
    out = io.StringIO()
    call_command("jap", *args, stdout=out)
    (line,) = out.getvalue().splitlines()
    return json.loads(line)


def expect(panel, body: object, **params: str) -> None:
    panel.post(API_URL, json=body, match=[matchers.urlencoded_params_matcher({"key": API_KEY, **params})])


def test_balance_prints_money_as_a_string(make_provider, panel):
    make_provider()
    expect(panel, {"balance": "100.84292", "currency": "USD"}, action="balance")
    assert jap("balance") == {"amount": "100.84292", "currency": "USD"}


def test_status_of_several_orders_prints_each_with_errors_in_place(make_provider, panel):
    make_provider()
    first = {"charge": "0.27819", "start_count": "", "status": "Partial", "remains": "157", "currency": "USD"}
    body = {"1": first, "2": {"error": "Incorrect order ID"}}
    expect(panel, body, action="status", orders="1,2")
    result = jap("status", "orders=1,2")
    assert result["1"]["charge"] == "0.27819"
    assert result["1"]["start_count"] is None
    assert result["2"] == {"error": "Incorrect order ID"}


def test_add_sends_the_fields_and_prints_the_order_id(make_provider, panel):
    make_provider()
    expect(panel, {"order": 23501}, action="add", service="1", link="https://x/p", quantity="100")
    assert jap("add", "service=1", "link=https://x/p", "quantity=100", "--yes") == {"order": 23501}


def test_single_forms_and_services_print_their_parsed_shapes(make_provider, panel):
    make_provider()
    expect(panel, {"refill": "7"}, action="refill", order="3")
    expect(panel, {"status": "Completed"}, action="refill_status", refill="7")
    expect(panel, [{"order": 3, "cancel": 1}], action="cancel", orders="3")
    service = {
        "service": 1,
        "name": "F",
        "type": "Default",
        "category": "c",
        "rate": "0.90",
        "min": 1,
        "max": 5,
    }
    expect(panel, [service, {"service": "bad"}], action="services")
    assert jap("refill", "order=3", "--yes") == {"order": 3, "refill": 7}
    assert jap("refill_status", "refill=7") == {"refill": 7, "status": "Completed"}
    assert jap("cancel", "order=3", "--yes") == {"3": True}
    services = jap("services")
    assert services["services"][0]["rate"] == "0.90"
    assert len(services["skipped"]) == 1


def test_the_provider_can_be_named(make_provider, panel):
    make_provider()
    make_provider("Other", api_url="https://other.example/api/v2")
    panel.post("https://other.example/api/v2", json={"balance": "1", "currency": "EUR"})
    assert jap("balance", "--provider", "Other") == {"amount": "1", "currency": "EUR"}


def test_with_several_active_providers_jap_is_the_default(make_provider, panel):
    make_provider("Sandbox", api_url="https://sandbox.example/api/v2")
    make_provider("JAP")
    expect(panel, {"balance": "3", "currency": "USD"}, action="balance")
    assert jap("balance")["amount"] == "3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["balance", "--provider", "Nope"], "unknown provider 'Nope' (known: JAP)"),
        (["refund"], "unknown action 'refund'; one of: services, balance, add"),
        (["status", "orders"], "expected key=value, got 'orders'"),
        (["status", "orders=1,x"], "expected comma-separated order ids, got '1,x'"),
        (["status", "order=1", "orders=2"], "give either order=ID or orders=ID,ID,..."),
        (["balance", "x=1"], "this action takes no parameters, got x"),
        (["add", "link=https://x", "--yes"], "add needs service=ID"),
        (["add", "service=1", "quantiy=10", "--yes"], "quantiy: not a parameter of `add`"),
    ],
)
def test_mistakes_end_with_one_readable_line(make_provider, args, message):
    make_provider()
    with pytest.raises(CommandError, match="^" + re.escape(message)):
        jap(*args)


def test_a_provider_error_ends_with_one_readable_line(make_provider, panel):
    make_provider()
    expect(panel, {"error": "Invalid API key"}, action="balance")
    with pytest.raises(CommandError, match="^JAP: ProviderRejected: Invalid API key$"):
        jap("balance")


def test_several_active_providers_without_jap_or_sandbox_need_a_choice(make_provider):
    make_provider("A")
    make_provider("B")
    with pytest.raises(
        CommandError, match=r"several active providers \(A, B\): choose one with --provider NAME"
    ):
        jap("balance")


def test_no_active_provider_is_explained(make_provider):
    make_provider(active=False)
    with pytest.raises(CommandError, match="no active provider"):
        jap("balance")


def test_from_the_shell_a_failure_exits_non_zero_with_one_line_and_no_traceback(tmp_path: Path):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [*manage, "jap", "balance", "--provider", "Nope"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["CommandError: unknown provider 'Nope' (known: Sandbox)"]


@pytest.mark.django_db(transaction=True)
def test_the_bootstrapped_sandbox_provider_is_reached_in_process(settings):
    Provider.objects.all().delete()
    settings.JAP_API_KEY = ""
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_FAULT_MODE = "none"
    provider_bootstrap()
    balance = jap("balance")
    assert balance["currency"] == "USD"
    assert Decimal(balance["amount"]) > 0


# Options anywhere, JSON lines on stdout (issue 12) ------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--provider", "JAP", "orders=1,2"],
        ["status", "orders=1,2", "--provider", "JAP"],
        ["--provider", "JAP", "status", "orders=1,2"],
    ],
)
def test_options_are_accepted_before_or_after_the_action_and_its_parameters(make_provider, panel, args):
    make_provider()
    expect(panel, {"1": {"status": "Pending"}, "2": {"status": "Completed"}}, action="status", orders="1,2")
    assert jap(*args)["2"]["status"] == "Completed"


def manage(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*command, "migrate", "-v0"], env=env, check=True, capture_output=True)
    return command, env


def test_from_the_shell_stdout_is_one_json_object_per_line_and_logs_go_to_stderr(tmp_path: Path):
    command, env = manage(tmp_path)
    env["LOG_LEVEL"] = "DEBUG"
    for args in (["balance"], ["status", "orders=1,2"], ["services"], ["refill_status", "refills=1"]):
        result = subprocess.run([*command, "jap", *args], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1
        assert all(isinstance(json.loads(line), dict) for line in lines)
        assert f"local {args[0]} -> HTTP 200" in result.stderr
    pretty = subprocess.run([*command, "jap", "balance", "--pretty"], env=env, capture_output=True, text=True)
    assert len(pretty.stdout.splitlines()) == 4 and json.loads(pretty.stdout)["currency"] == "USD"


# Money through `jap`: confirmed and audited (issue 10, point 13) ------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["add", "service=1", "link=https://x/p", "quantity=100"],
        ["refill", "order=3"],
        ["cancel", "orders=3,4"],
    ],
)
def test_a_money_action_without_yes_is_refused_before_anything_is_sent(make_provider, panel, args):
    make_provider()
    with pytest.raises(CommandError, match=f"^{args[0]} spends money: run it again with --yes"):
        jap(*args)
    assert not panel.calls
    assert not AuditEntry.objects.exists()


def test_a_money_action_is_audited_with_the_operating_system_user(make_provider, panel, monkeypatch):
    provider = make_provider()
    monkeypatch.setattr(getpass, "getuser", lambda: "deploy")
    expect(panel, {"order": 23501}, action="add", service="1", link="https://x/p", quantity="100")
    jap("add", "service=1", "link=https://x/p", "quantity=100", "--yes")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.actor_name, entry.target_label) == (
        AuditAction.ORDER_PLACED,
        None,
        "deploy",
        str(provider),
    )
    assert entry.after == {
        "action": "add",
        "service": "1",
        "link": "https://x/p",
        "quantity": "100",
        "answer": {"order": 23501},
    }
    assert "by the operating-system user deploy" in entry.note


def test_a_money_action_names_the_jappanel_user_given_with_user(make_provider, panel, django_user_model):
    make_provider()
    boss = django_user_model.objects.create_user("boss")
    expect(panel, [{"order": 3, "cancel": 1}], action="cancel", orders="3")
    jap("cancel", "order=3", "--yes", "--user", "boss")
    entry = AuditEntry.objects.get(action=AuditAction.ORDER_CANCEL)
    assert (entry.action, entry.actor, entry.who) == (AuditAction.ORDER_CANCEL, boss, "boss")


def test_a_money_action_that_may_have_reached_the_panel_is_audited_with_its_failure(make_provider, panel):
    make_provider()
    panel.post(API_URL, body="<html><title>Bad gateway</title></html>", status=502)
    with pytest.raises(CommandError, match="ProviderOutcomeUnknown"):
        jap("refill", "order=3", "--yes")
    entry = AuditEntry.objects.get()
    assert entry.action == AuditAction.ORDER_REFILL
    assert entry.after["error"].startswith("ProviderOutcomeUnknown: refill: an unexpected answer")


def test_an_unknown_user_is_refused_before_anything_is_sent(make_provider, panel):
    make_provider()
    with pytest.raises(CommandError, match="unknown user 'nobody'"):
        jap("add", "service=1", "link=https://x/p", "quantity=100", "--yes", "--user", "nobody")
    assert not panel.calls
