"""The order commands: one JSON object per line, exit 1 when not placed, 2 on bad input."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import Order, OrderStatus
from providers.sandbox.models import Order as SandboxOrder

pytestmark = pytest.mark.django_db(transaction=True)
KEYS = {"code", "status", "provider_order_id", "charge", "error"}


def run(*args: str, stdin: str = "", monkeypatch=None) -> tuple[int, list[dict]]:
    out = io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        call_command(*args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_place_order_sends_the_order_and_prints_one_line(followers, admin_user):
    code, lines = run(
        "place_order", "--service", str(followers.service_id), "--link", "https://instagram.com/p/a",
        "--quantity", "100", "--user", "admin",
    )  # fmt: skip

    assert code == 0
    (line,) = lines
    assert set(line) == KEYS
    order = Order.objects.get(code=line["code"])
    assert (line["status"], line["provider_order_id"], line["charge"], line["error"]) == (
        "pending",
        SandboxOrder.objects.get().pk,
        "0.09000",
        "",
    )
    assert order.user == admin_user


def test_place_order_takes_drip_feed_comments_and_other_fields(catalog, tmp_path):
    comments = catalog("Custom Comments", category__startswith="Instagram")
    path = tmp_path / "comments.txt"
    path.write_text("\n".join(f"great {n}" for n in range(comments.min_quantity)))
    code, (line,) = run(
        "place_order", "--service", str(comments.service_id), "--link", "https://instagram.com/p/c",
        "--comments-file", str(path),
    )  # fmt: skip
    assert code == 0 and line["status"] == "pending"
    assert SandboxOrder.objects.get().quantity == comments.min_quantity

    mentions = catalog("Mentions User Followers")
    code, (line,) = run(
        "place_order", "--service", str(mentions.service_id), "--link", "https://instagram.com/p/m",
        "--quantity", str(mentions.min_quantity), "--field", "username=nasa",
    )  # fmt: skip
    assert code == 0 and line["status"] == "pending"


def test_a_rejected_order_exits_1_with_the_same_line(followers, account):
    account.balance = Decimal("0")
    account.save()
    code, (line,) = run(
        "place_order", "--service", str(followers.service_id), "--link", "https://instagram.com/p/a",
        "--quantity", "100",
    )  # fmt: skip
    assert code == 1
    assert (line["status"], line["error"]) == ("rejected", "Not enough funds on balance")


def test_an_unconfirmed_order_exits_1(followers, account):
    account.fault_mode = "html_503"
    account.save()
    code, (line,) = run(
        "place_order", "--service", str(followers.service_id), "--link", "https://instagram.com/p/a",
        "--quantity", "100",
    )  # fmt: skip
    assert code == 1 and line["status"] == "unconfirmed" and "HTTP 503" in line["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--link", "https://youtube.com/x", "--quantity", "100"], "This is not an Instagram link"),
        (["--link", "https://instagram.com/p/a", "--quantity", "1"], "takes at least 10"),
        (["--link", "https://instagram.com/p/a", "--quantity", "100", "--field", "bogus"], "name=value"),
        (["--link", "https://instagram.com/p/a", "--quantity", "100", "--user", "nobody"], "unknown user"),
    ],
)
def test_bad_input_is_one_readable_line_and_exit_2(followers, args, message):
    with pytest.raises(CommandError, match=message) as error:
        call_command("place_order", "--service", str(followers.service_id), *args)
    assert error.value.returncode == 2
    assert "\n" not in str(error.value)
    assert not Order.objects.exists()


def test_an_unknown_service_is_bad_input(sandbox):
    with pytest.raises(CommandError, match="Sandbox has no service 999") as error:
        call_command("place_order", "--service", "999", "--link", "https://x.com/a", "--quantity", "10")
    assert error.value.returncode == 2


def test_place_orders_places_every_line_from_stdin(followers, catalog, monkeypatch):
    mentions = catalog("Mentions User Followers")
    text = (
        f"# a comment line\n{followers.service_id} | https://instagram.com/p/1 | 100\n\n"
        f"{mentions.service_id} | https://instagram.com/p/2 | {mentions.min_quantity} | username=nasa\n"
    )

    code, lines = run("place_orders", "-", stdin=text, monkeypatch=monkeypatch)

    assert code == 0
    assert [line["line"] for line in lines] == [2, 4]
    assert all(line["status"] == "pending" for line in lines)
    assert SandboxOrder.objects.count() == 2


def test_place_orders_with_a_bad_line_places_nothing_and_names_each_bad_line(followers, tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text(
        f"{followers.service_id} | https://instagram.com/p/1 | 100\n"
        "abc | https://instagram.com/p/2 | 100\n"
        f"{followers.service_id} | https://youtube.com/x | 100\n"
    )

    code, lines = run("place_orders", str(path))

    assert code == 2
    assert [line["line"] for line in lines] == [2, 3]
    assert "service id 'abc' is not a number" in lines[0]["error"]
    assert "not an Instagram link" in lines[1]["error"]
    assert not Order.objects.exists()


def test_show_order_prints_the_order_with_its_events(followers):
    _, (placed,) = run(
        "place_order", "--service", str(followers.service_id), "--link", "https://instagram.com/p/a",
        "--quantity", "100",
    )  # fmt: skip

    _, (shown,) = run("show_order", placed["code"].lower())

    assert shown["code"] == placed["code"] and shown["status"] == OrderStatus.PENDING
    assert [event["kind"] for event in shown["events"]] == ["created", "submitting", "accepted"]
    assert "submission_token" not in shown


def test_show_order_of_an_unknown_code_is_bad_input(db):
    with pytest.raises(CommandError, match="no order") as error:
        call_command("show_order", "NOPE")
    assert error.value.returncode == 2
