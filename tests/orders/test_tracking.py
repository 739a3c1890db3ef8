"""Following orders: due selection, one status call per 100 orders, changes only, never backwards."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from orders.models import EventKind, Order, OrderEvent, OrderStatus
from orders.services.spend import budget_spent
from orders.services.tracking import order_batch_check, orders_claim_due, orders_poll_round
from providers.client import sandbox as client_sandbox
from providers.models import Provider
from providers.sandbox.protocol import request_params
from providers.sandbox.services import order_add

pytestmark = pytest.mark.django_db(transaction=True)


def make_due() -> None:
    Order.objects.exclude(next_check_at=None).update(next_check_at=timezone.now() - timedelta(seconds=1))


def test_250_open_orders_are_polled_with_3_status_calls_and_one_event_per_change(
    followers, open_orders, clock, panel_calls, settings
):
    # One thread: several may split the last 50 between them (each skips what the other has
    # locked), which is a fourth call, and fine, but not what this counts.
    settings.PROVIDER_MAX_CONCURRENCY = 1
    open_orders(followers, 250)
    clock.advance(simulated=True, hours=3)

    report = orders_poll_round()

    assert sorted(panel_calls.calls) == [("status", 50), ("status", 100), ("status", 100)]
    assert (report.due, report.checked, report.changed, report.calls, report.errors) == (250, 250, 250, 3, 0)
    assert not Order.objects.exclude(status__in=[OrderStatus.COMPLETED, OrderStatus.PARTIAL]).exists()
    assert not Order.objects.exclude(next_check_at=None).exists()
    assert not Order.objects.filter(finished_at=None).exists()
    assert OrderEvent.objects.filter(kind=EventKind.STATUS, from_status="pending").count() == 250
    completed = Order.objects.filter(status=OrderStatus.COMPLETED).first()
    assert (completed.remains, completed.provider_status) == (0, "Completed")
    assert completed.charge == Decimal("0.09")


def test_a_round_with_nothing_new_writes_nothing(followers, open_orders, panel_calls):
    open_orders(followers, 3)
    first = orders_poll_round()
    assert (first.checked, first.changed) == (3, 3)  # charge and remains were unknown
    assert not OrderEvent.objects.exists()  # still pending: no status change, no event

    make_due()
    second = orders_poll_round()

    assert (second.due, second.checked, second.changed, second.calls) == (3, 3, 0, 1)
    assert not OrderEvent.objects.exists()


def test_young_orders_are_checked_often_old_ones_back_off_and_final_ones_never(
    followers, open_orders, clock, settings
):
    settings.ORDERS_POLL_MAX_INTERVAL_MINUTES = 60
    (young,) = open_orders(followers, 1)
    (old,) = open_orders(followers, 1, first=2, age=timedelta(days=3))
    (middle,) = open_orders(followers, 1, first=3, age=timedelta(hours=3))
    now = timezone.now()

    orders_claim_due(now=now)

    minutes = {
        order.pk: round((order.next_check_at - now).total_seconds() / 60)
        for order in Order.objects.filter(pk__in=[young.pk, old.pk, middle.pk])
    }
    assert minutes == {young.pk: 1, middle.pk: 5, old.pk: 60}
    assert orders_claim_due(now=now) == []  # claimed: not due again until then


def test_an_incorrect_order_id_marks_that_order_for_attention_not_the_batch(followers, open_orders, sandbox):
    good = open_orders(followers, 2)
    bad = Order.objects.create(
        provider=sandbox,
        service=followers,
        link="https://instagram.com/p/gone",
        estimated_charge=0,
        status=OrderStatus.PENDING,
        provider_order_id=987654321,
        next_check_at=timezone.now(),
    )

    report = orders_poll_round()

    assert (report.checked, report.errors, report.calls) == (3, 1, 1)
    bad.refresh_from_db()
    assert (bad.status, bad.needs_attention, bad.last_error) == ("pending", True, "Incorrect order ID")
    assert list(bad.events.values_list("kind", "message")) == [(EventKind.ERROR, "Incorrect order ID")]
    assert not Order.objects.filter(pk__in=[o.pk for o in good], needs_attention=True).exists()
    make_due()
    orders_poll_round()
    assert bad.events.count() == 1  # the same error again is not a new event


def test_a_stored_status_never_goes_backwards_and_a_final_one_stays_final(followers, open_orders):
    ahead, final = open_orders(followers, 2)  # the sandbox still says Pending for both
    Order.objects.filter(pk=ahead.pk).update(status=OrderStatus.IN_PROGRESS, provider_status="In progress")
    Order.objects.filter(pk=final.pk).update(status=OrderStatus.COMPLETED, provider_status="Completed")

    report = orders_poll_round()

    assert report.changed == 0
    assert Order.objects.get(pk=ahead.pk).status == OrderStatus.IN_PROGRESS
    assert Order.objects.get(pk=final.pk).status == OrderStatus.COMPLETED


def test_an_answer_for_an_order_changed_since_the_claim_is_dropped(followers, open_orders, clock, sandbox):
    (order,) = open_orders(followers, 1)
    (batch,) = orders_claim_due()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELED)  # a person, meanwhile
    clock.advance(simulated=True, hours=3)

    report = order_batch_check(provider=sandbox, rows=batch.rows)

    assert (report.checked, report.changed) == (1, 0)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELED


def test_an_unknown_provider_status_is_kept_and_not_final(catalog, account, sandbox):
    subscription = catalog("Subscriptions")
    placed = order_add(
        account=account,
        params={
            "service": str(subscription.service_id),
            "username": "nasa",
            "min": str(subscription.min_quantity),
            "max": str(subscription.min_quantity),
            "posts": "3",
        },
    )
    order = Order.objects.create(
        provider=sandbox,
        service=subscription,
        username="nasa",
        estimated_charge=0,
        status=OrderStatus.PENDING,
        provider_order_id=placed.pk,
        next_check_at=timezone.now(),
    )

    orders_poll_round()

    order.refresh_from_db()
    assert (order.status, order.provider_status) == (OrderStatus.OTHER, "Active")
    assert order.next_check_at is not None and not order.is_final


def test_a_failed_status_call_is_recorded_on_the_provider_and_the_orders_wait(
    followers, open_orders, account, sandbox
):
    open_orders(followers, 2)
    account.fault_mode = "html_503"
    account.save()

    report = orders_poll_round()

    assert (report.due, report.checked, report.errors, report.changed) == (2, 0, 2, 0)
    assert "HTTP 503" in Provider.objects.get(pk=sandbox.pk).last_error
    assert not Order.objects.filter(next_check_at__lte=timezone.now()).exists()


def test_two_pollers_at_once_check_each_order_once(followers, open_orders, panel_calls, clock):
    orders = open_orders(followers, 120)
    clock.advance(simulated=True, hours=3)
    start = threading.Barrier(2)
    reports = []

    def poller() -> None:
        try:
            start.wait()
            reports.append(orders_poll_round())
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(report.due for report in reports) == 120
    assert sum(report.changed for report in reports) == 120
    assert sum(ids for action, ids in panel_calls.calls if action == "status") == 120
    assert OrderEvent.objects.filter(kind=EventKind.STATUS).count() == 120
    assert Order.objects.filter(pk__in=[o.pk for o in orders], next_check_at=None).count() == 120


def test_poll_orders_prints_one_json_line(followers, open_orders, capsys):
    open_orders(followers, 2)

    call_command("poll_orders")

    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"due", "checked", "changed", "calls", "errors", "seconds"}
    assert (report["due"], report["checked"], report["calls"]) == (2, 2, 1)


def test_a_round_limited_to_some_orders_claims_and_checks_only_those(followers, open_orders, panel_calls):
    asked, other, not_due = open_orders(followers, 3)
    Order.objects.filter(pk=not_due.pk).update(next_check_at=timezone.now() + timedelta(hours=1))

    report = orders_poll_round(ids=[asked.pk, not_due.pk])

    assert (report.due, report.checked, report.calls) == (1, 1, 1)
    assert panel_calls.calls == [("status", 1)]
    assert orders_claim_due(ids=[other.pk]) != []  # still due: it was not claimed
    assert orders_claim_due(ids=[]) == []


# What the panel says is checked before it is written ---------------------------------------------


@pytest.fixture
def panel_says(monkeypatch):
    """The panel answers `status` with what the test sets, per provider order id."""
    answers: dict[int, object] = {}

    def view(request):
        from django.http import JsonResponse

        ids = request_params(request)["orders"].split(",")
        return JsonResponse({order_id: answers[int(order_id)] for order_id in ids})

    monkeypatch.setattr(client_sandbox, "sandbox_view", lambda: view)
    return answers


def poll(panel_says, answers: dict[Order, dict]) -> None:
    panel_says.clear()
    panel_says.update({order.provider_order_id: answer for order, answer in answers.items()})
    make_due()
    orders_poll_round()


def spent(sandbox) -> Decimal:
    return budget_spent(month=timezone.now().date(), currency="USD", provider=sandbox)


def test_a_negative_absurd_or_unrefunded_lower_charge_never_lowers_spend_and_the_reason_is_recorded(
    followers, open_orders, sandbox, panel_says
):
    negative, absurd, lower, fine = open_orders(followers, 4)
    progress = {"status": "In progress", "charge": "0.09", "remains": "50", "currency": "USD"}
    poll(panel_says, dict.fromkeys((negative, absurd, lower, fine), progress))
    before = spent(sandbox)

    hostile = {
        negative: {**progress, "charge": "-5.00"},
        absurd: {**progress, "charge": "100000000000000000000"},
        lower: {**progress, "charge": "0.00001"},
        fine: {**progress, "remains": "20"},
    }
    poll(panel_says, hostile)

    assert spent(sandbox) == before
    expected = {
        negative: "Not recorded: the charge -5.00 is negative.",
        absurd: "Not recorded: the charge 100000000000000000000 is 100000000000000000000 is beyond",
        lower: "Not recorded: the charge 0.00001 is lower than the 0.09000 recorded, without a refund.",
    }
    for order, reason in expected.items():
        order.refresh_from_db()
        assert order.charge == Decimal("0.09") and order.needs_attention
        assert order.last_error.startswith(reason)
        assert list(order.events.values_list("kind", flat=True)) == [EventKind.STATUS, EventKind.ERROR]
    fine.refresh_from_db()
    assert (fine.remains, fine.last_error, fine.needs_attention) == (20, "", False)

    poll(panel_says, hostile)  # the same again: nothing new to record
    assert OrderEvent.objects.filter(kind=EventKind.ERROR).count() == 3


def test_a_charge_in_another_currency_than_the_orders_is_not_recorded(followers, open_orders, panel_says):
    (order,) = open_orders(followers, 1)
    poll(panel_says, {order: {"status": "Completed", "charge": "0.01", "remains": "0", "currency": "EUR"}})
    order.refresh_from_db()
    assert (order.status, order.charge, order.currency) == (OrderStatus.COMPLETED, None, "USD")
    assert order.last_error == "Not recorded: the charge 0.01 is in EUR, the order in USD."
    assert order.events.get().message.endswith("Not recorded: the charge 0.01 is in EUR, the order in USD.")


def test_a_refund_lowers_the_charge_only_with_a_partial_or_canceled_status(
    followers, open_orders, panel_says
):
    (order,) = open_orders(followers, 1)
    poll(panel_says, {order: {"status": "In progress", "charge": "0.09", "remains": "60"}})
    poll(panel_says, {order: {"status": "Partial", "charge": "0.04", "remains": "60"}})
    order.refresh_from_db()
    assert (order.status, order.charge, order.last_error) == (OrderStatus.PARTIAL, Decimal("0.04"), "")


def test_a_missing_charge_never_erases_a_known_one(followers, open_orders, panel_says):
    (order,) = open_orders(followers, 1)
    poll(panel_says, {order: {"status": "In progress", "charge": "0.09", "remains": "60"}})
    poll(panel_says, {order: {"status": "Completed", "remains": "0"}})
    order.refresh_from_db()
    assert (order.status, order.charge) == (OrderStatus.COMPLETED, Decimal("0.09"))


def test_remains_not_a_number_or_more_than_ordered_are_refused_for_that_order_not_the_batch(
    followers, open_orders, sandbox, panel_says
):
    garbled, inflated, fine = open_orders(followers, 3)
    poll(
        panel_says,
        {
            garbled: {"status": "In progress", "remains": "lots"},
            inflated: {"status": "Partial", "remains": "1000000"},
            fine: {"status": "Completed", "charge": "0.09", "remains": "0"},
        },
    )
    garbled.refresh_from_db()
    assert (garbled.status, garbled.remains) == (OrderStatus.IN_PROGRESS, None)
    assert garbled.last_error == "Not recorded: the remains 'lots' is not valid."
    inflated.refresh_from_db()
    assert (inflated.status, inflated.remains) == (OrderStatus.PARTIAL, None)
    assert inflated.last_error == "Not recorded: the remains 1000000 is more than the 100 ordered."
    fine.refresh_from_db()
    assert fine.status == OrderStatus.COMPLETED
    # A partial order with no charge and no credible remains counts its whole estimate.
    assert spent(sandbox) == garbled.estimated_charge + inflated.estimated_charge + Decimal("0.09")


def test_an_order_starts_when_a_status_answer_first_shows_progress_and_keeps_that_moment(
    followers, open_orders, clock
):
    earlier, waiting = open_orders(followers, 2)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk=earlier.pk).update(status=OrderStatus.IN_PROGRESS, started_at=an_hour_ago)

    orders_poll_round()  # the sandbox still says Pending: no progress yet
    assert Order.objects.get(pk=waiting.pk).started_at is None

    clock.advance(simulated=True, days=3)
    make_due()
    before = timezone.now()
    orders_poll_round()

    waiting.refresh_from_db()
    earlier.refresh_from_db()
    assert waiting.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
    assert before <= waiting.started_at <= timezone.now()
    assert earlier.started_at == an_hour_ago  # the first progress is kept, never moved
