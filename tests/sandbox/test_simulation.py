"""Orders and refills moving over the injected clock; refunds; determinism from the seed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from providers.sandbox import clock as sandbox_clock
from providers.sandbox.models import Account, Order, SandboxOrderStatus, Service, ServiceType
from providers.sandbox.services import sandbox_account_get
from providers.sandbox.simulation import order_finish, order_plan
from tests.sandbox.factories import ServiceFactory

pytestmark = pytest.mark.django_db

LINK = "https://example.com/p/"


def place(api: object, service: Service, number: int = 0, **params: object) -> int:
    return api("add", service=service.id, link=f"{LINK}{number}", **{"quantity": 1000, **params})["order"]


def first_partial(api: object, service: Service) -> Order:
    """Place orders until the seeded plan makes one end Partial."""
    for number in range(50):
        order = Order.objects.get(pk=place(api, service, number))
        if order.planned_remains:
            return order
    raise AssertionError("no order planned to end Partial")


def test_an_order_goes_from_pending_through_in_progress_to_completed(api: object, clock: object) -> None:
    service = ServiceFactory(start_max_seconds=3600, speed_per_day=10_000)
    order = place(api, service)
    seen = [api("status", order=order)]
    for _ in range(20):
        clock.advance(simulated=True, minutes=10)
        seen.append(api("status", order=order))

    statuses = [answer["status"] for answer in seen]
    assert statuses[0] == "Pending"
    assert seen[0]["start_count"] == ""
    assert "In progress" in statuses
    assert statuses[-1] == "Completed"
    assert seen[-1]["remains"] == "0"
    started = [answer for answer in seen if answer["status"] != "Pending"]
    assert len({answer["start_count"] for answer in started}) == 1
    remains = [int(answer["remains"]) for answer in seen]
    assert remains == sorted(remains, reverse=True)
    assert len(set(remains)) > 3


def test_time_runs_faster_with_a_larger_time_scale(api: object, clock: object, settings: object) -> None:
    settings.SANDBOX_TIME_SCALE = 3600.0
    service = ServiceFactory(start_max_seconds=3600, speed_per_day=10_000)
    order = place(api, service)

    clock.advance(seconds=60)

    assert api("status", order=order)["status"] == "Completed"


def test_it_refunds_the_undelivered_part_of_a_partial_order(api: object, clock: object) -> None:
    service = ServiceFactory(rate=Decimal("1.23456"))
    order = first_partial(api, service)
    placed = Order.objects.filter(account=order.account).count()
    paid = Decimal("1.23456") * placed  # 1000 units each

    clock.advance(simulated=True, days=3)
    answer = api("status", order=order.pk)

    refund = (Decimal("1.23456") * order.planned_remains / 1000).quantize(Decimal("0.00001"))
    assert answer["status"] == "Partial"
    assert answer["remains"] == str(order.planned_remains)
    assert Decimal(answer["charge"]) == Decimal("1.23456") - refund
    assert Decimal(api("balance")["balance"]) == Decimal("1000") - paid + refund


def test_it_refunds_a_partial_order_once_however_often_it_is_read(api: object, clock: object) -> None:
    service = ServiceFactory(rate=Decimal("2"))
    order = first_partial(api, service)
    clock.advance(simulated=True, days=3)

    balances = {api("balance")["balance"] for _ in range(3)}
    for _ in range(3):
        api("status", orders=str(order.pk))

    assert len(balances) == 1
    assert api("balance")["balance"] in balances


def test_two_racing_finishers_refund_only_once(api: object, account: Account) -> None:
    service = ServiceFactory(rate=Decimal("2"))
    order_id = place(api, service)
    first, second = Order.objects.get(pk=order_id), Order.objects.get(pk=order_id)

    assert order_finish(order=first, status=SandboxOrderStatus.PARTIAL, remains=500, at=sandbox_clock.now())
    assert not order_finish(
        order=second, status=SandboxOrderStatus.PARTIAL, remains=500, at=sandbox_clock.now()
    )

    account.refresh_from_db()
    assert account.balance == Decimal("1000") - Decimal("2") + Decimal("1")
    assert Order.objects.get(pk=order_id).refunded == Decimal("1")


def test_balance_includes_refunds_of_orders_nobody_polled(api: object, clock: object) -> None:
    service = ServiceFactory(rate=Decimal("2"))
    order = first_partial(api, service)
    clock.advance(simulated=True, days=3)

    balance = Decimal(api("balance")["balance"])

    assert Order.objects.get(pk=order.pk).status == SandboxOrderStatus.PARTIAL
    assert balance == Decimal("1000") - sum(o.charge for o in Order.objects.all())


def test_canceling_a_pending_order_refunds_all_of_it(api: object) -> None:
    service = ServiceFactory(rate=Decimal("3"))
    order = place(api, service)

    assert api("cancel", orders=str(order)) == [{"order": order, "cancel": 1}]

    assert api("status", order=order) == {
        "charge": "0.00000",
        "start_count": "",
        "status": "Canceled",
        "remains": "1000",
        "currency": "USD",
    }
    assert api("balance")["balance"] == "1000.00000"


def test_canceling_an_order_in_progress_ends_it_partial_with_a_refund(api: object, clock: object) -> None:
    service = ServiceFactory(rate=Decimal("3"), start_max_seconds=60, speed_per_day=1000)
    order = place(api, service)
    clock.advance(simulated=True, hours=12)
    remains = int(api("status", order=order)["remains"])
    assert 0 < remains < 1000

    api("cancel", orders=str(order))

    answer = api("status", order=order)
    refund = Decimal(3) * remains / 1000
    assert answer["status"] == "Partial"
    assert Decimal(answer["charge"]) == Decimal(3) - refund
    assert Decimal(api("balance")["balance"]) == Decimal(1000) - Decimal(3) + refund


def test_it_refuses_to_cancel_where_the_service_forbids_it_or_the_order_ended(
    api: object, clock: object
) -> None:
    locked = place(api, ServiceFactory(cancel=False), 1)
    ended = place(api, ServiceFactory(), 2)
    clock.advance(simulated=True, days=3)

    assert api("cancel", orders=f"{locked},{ended}") == [
        {"order": locked, "cancel": {"error": "Cancel is disabled for this service"}},
        {"order": ended, "cancel": {"error": "This order cannot be canceled"}},
    ]


def test_a_drip_feed_parent_reports_its_runs_and_their_orders(api: object, clock: object) -> None:
    service = ServiceFactory(rate=Decimal("1"), start_max_seconds=60, speed_per_day=100_000)
    parent = place(api, service, runs=3, interval=60)

    assert api("status", order=parent) == {"status": "In progress", "runs": "3", "orders": [str(parent + 1)]}
    clock.advance(simulated=True, minutes=61)
    answer = api("status", order=parent)
    assert answer["status"] == "In progress"
    assert len(answer["orders"]) == 2

    clock.advance(simulated=True, hours=3)
    answer = api("status", orders=str(parent))[str(parent)]
    assert answer["status"] == "Completed"
    assert answer["runs"] == "3"
    assert len(answer["orders"]) == 3
    child = api("status", order=answer["orders"][0])
    assert list(child) == ["charge", "start_count", "status", "remains", "currency"]
    assert child["status"] in ("Completed", "Partial")


def test_canceling_a_drip_feed_refunds_the_runs_not_started(api: object, clock: object) -> None:
    service = ServiceFactory(rate=Decimal("1"))
    parent = place(api, service, runs=4, interval=60)

    api("cancel", orders=str(parent))

    assert api("status", order=parent)["status"] == "Canceled"
    assert api("balance")["balance"] == "999.00000"


def test_a_subscription_parent_reports_its_posts_and_orders(api: object, clock: object) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, min=50, max=1000)
    parent = api(
        "add", service=service.id, username="natgeo", min=100, max=200, posts=2, old_posts=1, delay=0
    )["order"]

    first = api("status", order=parent)
    assert list(first) == ["status", "expiry", "posts", "orders", "old_orders"]
    assert first == {
        "status": "Active",
        "expiry": "",
        "posts": "0",
        "orders": [],
        "old_orders": [first["old_orders"][0]],
    }

    clock.advance(simulated=True, days=3)
    later = api("status", order=parent)
    assert later["status"] == "Completed"
    assert later["posts"] == "2"
    assert len(later["orders"]) == 2
    assert all(type(number) is str for number in later["orders"] + later["old_orders"])


def test_a_subscription_expires_on_its_expiry_date(api: object, clock: object) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, min=50, max=1000)
    expiry = (clock.now() + timedelta(days=2)).date()
    parent = api(
        "add",
        service=service.id,
        username="natgeo",
        min=100,
        max=200,
        delay=0,
        expiry=expiry.strftime("%d/%m/%Y"),
    )["order"]

    clock.advance(simulated=True, days=10)
    answer = api("status", order=parent)

    assert answer["status"] == "Expired"
    assert answer["expiry"] == expiry.isoformat()
    assert int(answer["posts"]) > 0


def test_the_same_seed_gives_the_same_outcomes(api: object, clock: object) -> None:
    service = ServiceFactory()

    def run() -> list[dict]:
        orders = [place(api, service, number) for number in range(20)]
        clock.advance(simulated=True, hours=2)
        middle = api("status", orders=",".join(map(str, orders)))
        clock.advance(simulated=True, days=3)
        end = api("status", orders=",".join(map(str, orders)))
        return [middle[str(o)] | {"end": end[str(o)]} for o in orders]

    first = run()
    Order.objects.all().delete()
    Account.objects.update(order_seq=0, balance=Decimal("1000"))
    second = run()

    assert first == second
    assert {answer["end"]["status"] for answer in first} == {"Completed", "Partial"}


def test_a_different_seed_gives_different_outcomes(settings: object) -> None:
    service = ServiceFactory.build()
    plans = [order_plan(service=service, quantity=1000, key=f"o{n}") for n in range(20)]
    settings.SANDBOX_SEED = 7

    assert plans != [order_plan(service=service, quantity=1000, key=f"o{n}") for n in range(20)]


def completed_order(api: object, clock: object, service: Service) -> int:
    """Place orders until one is delivered in full (the plan ends some Partial)."""
    for number in range(1000, 1050):
        order = place(api, service, number)
        clock.advance(simulated=True, days=2)
        if api("status", order=order)["status"] == "Completed":
            return order
    raise AssertionError("no order planned to complete")


def test_a_refill_goes_pending_in_progress_then_completed_or_rejected(api: object, clock: object) -> None:
    service = ServiceFactory()
    outcomes = set()
    for number in range(12):
        order = place(api, service, 100 + number)
        clock.advance(simulated=True, days=2)
        if api("status", order=order)["status"] != "Completed":
            continue
        refill = api("refill", order=order)["refill"]
        assert type(refill) is str
        seen = [api("refill_status", refill=refill)["status"]]
        for _ in range(30):
            clock.advance(simulated=True, minutes=30)
            seen.append(api("refill_status", refill=refill)["status"])
        assert seen[0] == "Pending"
        assert "In progress" in seen
        outcomes.add(seen[-1])
    assert outcomes == {"Completed", "Rejected"}


def test_it_refuses_refills_the_way_jap_does(api: object, clock: object) -> None:
    none = place(api, ServiceFactory(refill=False, refill_days=0), 1)
    pending = place(api, ServiceFactory(start_max_seconds=86400 * 10), 2)
    short = ServiceFactory(refill_days=5)
    done = completed_order(api, clock, short)

    assert api("refill", order=none) == {"error": "Refill is disabled for this service"}
    assert api("refill", order=pending) == {"error": "Refill is not available for this order"}
    assert api("refill", order=99999) == {"error": "Incorrect order ID"}
    assert api("refill", order=done)["refill"]
    assert api("refill", order=done) == {"error": "The refill task is not completed for this order"}
    clock.advance(simulated=True, hours=15)
    assert api("refill", order=done) == {
        "error": "The order was completed or refill was requested less than 24 hours ago"
    }
    clock.advance(simulated=True, days=5)
    assert api("refill", order=done) == {"error": "Refill days are over"}


def test_multi_refill_answers_numbers_and_per_order_errors(api: object, clock: object) -> None:
    done = completed_order(api, clock, ServiceFactory())

    answer = api("refill", orders=f"{done},4242")

    assert answer[0]["order"] == done
    assert type(answer[0]["refill"]) is int
    assert answer[1] == {"order": 4242, "refill": {"error": "Incorrect order ID"}}
    statuses = api("refill_status", refills=f"{answer[0]['refill']},777")
    assert statuses == [
        {"refill": answer[0]["refill"], "status": "Pending"},
        {"refill": 777, "status": {"error": "Refill not found"}},
    ]
    assert api("refill_status", refill="777") == {"error": "Refill not found"}


def test_the_default_account_starts_with_the_configured_balance(settings: object) -> None:
    settings.SANDBOX_START_BALANCE = Decimal("12.5")

    assert sandbox_account_get().balance == Decimal("12.5")


def test_a_subscription_skips_posts_it_cannot_pay_for(api: object, clock: object, account: Account) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, rate=Decimal("2"), min=50, max=1000)
    parent = api("add", service=service.id, username="natgeo", min=100, max=200, posts=1, delay=0)["order"]
    Account.objects.filter(pk=account.pk).update(balance=Decimal("0.1"))

    clock.advance(simulated=True, days=2)
    answer = api("status", order=parent)

    assert answer["status"] == "Completed"
    assert api("status", order=answer["orders"][0])["status"] == "Canceled"
    assert api("balance")["balance"] == "0.10000"
