"""Events: recorded once, told to the right people as each chose."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import CatalogSync
from jappanel.events import Occurrence, announce
from jappanel.models import Heartbeat
from notifications.models import BalanceAlert, Choice, Event, Kind, Mail, Notification, Preference
from notifications.services.health import health_check
from notifications.services.rules import balance_forecast
from orders.models import EventKind, Order, OrderStatus
from orders.services.approvals import order_approve, order_decline
from orders.services.lifecycle import order_transition
from orders.services.placing import order_place
from providers.models import Provider
from team.models import Budget
from tests.factories import link, person

pytestmark = pytest.mark.django_db(transaction=True)


def kinds_of(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("event__kind", flat=True))


def test_a_large_order_tells_the_approvers_and_not_the_buyer(followers):
    buyer, approver, manager = (
        person("buyer", "Buyer"),
        person("approver", "Approver"),
        person("boss", "Manager"),
    )

    order = order_place(service=followers, link=link(), quantity=1000, user=buyer, enqueue=False)

    assert order.status == OrderStatus.AWAITING_APPROVAL
    event = Event.objects.get(kind=Kind.APPROVAL_REQUESTED)
    assert event.url == f"/orders/{order.code}/"
    assert event.data["order_code"] == order.code
    assert kinds_of(approver) == [Kind.APPROVAL_REQUESTED] == kinds_of(manager)
    assert kinds_of(buyer) == []
    # By default an approval request is mailed at once.
    assert Notification.objects.get(user=approver).mail == Mail.NOW


def test_the_decision_goes_to_the_requester(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    approved = order_place(service=followers, link=link(1), quantity=1000, user=buyer, enqueue=False)
    declined = order_place(service=followers, link=link(2), quantity=1000, user=buyer, enqueue=False)

    order_approve(order=approved, user=approver)
    order_decline(order=declined, user=approver, reason="Too dear")

    titles = sorted(Notification.objects.filter(user=buyer).values_list("event__title", flat=True))
    assert titles == sorted([f"Order {approved.code} was approved", f"Order {declined.code} was declined"])


def test_the_same_occurrence_twice_is_one_event_and_one_notification(followers):
    buyer = person("buyer", "Buyer")
    order = order_place(service=followers, link=link(), quantity=100, user=buyer, enqueue=False)
    order_transition(order, OrderStatus.SUBMITTING, kind=EventKind.STATUS, allowed_from=[OrderStatus.QUEUED])
    order_transition(
        order, OrderStatus.UNCONFIRMED, kind=EventKind.UNCONFIRMED, allowed_from=[OrderStatus.SUBMITTING]
    )

    # A retried task announces the same move again.
    announce([Occurrence("order.moved", "again", {"order_id": order.pk, "to": OrderStatus.UNCONFIRMED})])

    assert Event.objects.filter(kind=Kind.ORDER_UNCONFIRMED).count() == 1
    assert kinds_of(buyer) == [Kind.ORDER_UNCONFIRMED]


def test_a_move_that_did_not_hold_is_not_told(followers):
    buyer = person("buyer", "Buyer")
    order = order_place(service=followers, link=link(), quantity=100, user=buyer, enqueue=False)

    announce([Occurrence("order.moved", "stale", {"order_id": order.pk, "to": OrderStatus.CANCELED})])

    assert not Event.objects.exists()


def test_a_person_who_turned_a_kind_off_hears_nothing_of_it(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    Preference.objects.create(user=approver, kind=Kind.APPROVAL_REQUESTED, choice=Choice.OFF)
    digest = person("approver2", "Approver")
    Preference.objects.create(user=digest, kind=Kind.APPROVAL_REQUESTED, choice=Choice.DIGEST)

    order_place(service=followers, link=link(), quantity=1000, user=buyer, enqueue=False)

    assert kinds_of(approver) == []
    assert Notification.objects.get(user=digest).mail == Mail.DIGEST


def test_a_budget_at_80_percent_is_told_once_a_month(followers, settings):
    settings.APPROVAL_THRESHOLD = None
    provider = Provider.objects.create(name="Panel", api_url="https://panel.example.com/api/v2")
    followers.provider = provider
    followers.save()
    buyer, manager = person("buyer", "Buyer"), person("boss", "Manager")
    cost = followers.cost(1000)
    Budget.objects.create(user=buyer, amount=cost * Decimal("1.2"))

    order_place(service=followers, link=link(1), quantity=1000, user=buyer, enqueue=False)
    order_place(service=followers, link=link(2), quantity=10, user=buyer, enqueue=False)

    event = Event.objects.get(kind=Kind.BUDGET_REACHED)
    assert event.data["percent"] == 80
    assert "reached 80%" in event.title
    assert set(Notification.objects.filter(event=event).values_list("user__username", flat=True)) == {
        "buyer",
        "boss",
    }
    assert manager.pk


def test_a_low_balance_is_told_with_this_weeks_pace(followers):
    manager = person("boss", "Manager")
    provider = Provider.objects.create(
        name="Panel", api_url="https://panel.example.com/api/v2", balance=Decimal("30")
    )
    followers.provider = provider
    followers.save()
    for n in range(7):
        Order.objects.create(
            provider=provider,
            service=followers,
            link=link(n),
            quantity=1000,
            estimated_charge=Decimal("10"),
            charge=Decimal("10"),
            status=OrderStatus.COMPLETED,
            submission_token=f"t{n}",
            created_at=timezone.now() - timedelta(days=n),
        )

    assert balance_forecast(provider) == Decimal(3)  # 70 a week, 10 a day
    BalanceAlert.objects.create(provider=provider, threshold=Decimal("5"))
    announce([Occurrence("provider.balance", "b", {"provider_id": provider.pk})])
    announce([Occurrence("provider.balance", "b2", {"provider_id": provider.pk})])

    event = Event.objects.get(kind=Kind.BALANCE_LOW)
    assert event.title == "Panel balance is low: 30.00 USD; lasts about 3 days at this week's pace"
    assert kinds_of(manager) == [Kind.BALANCE_LOW]


def test_a_catalog_sync_failing_three_times_in_a_row_is_told_once(sandbox, settings):
    settings.NOTIFY_SYNC_FAILURES = 3
    manager = person("boss", "Manager")

    def run(status: str) -> None:
        sync = CatalogSync.objects.create(provider=sandbox, status=status, message="HTTP 503")
        if status == "failed":
            announce([Occurrence("catalog.sync_failed", f"sync:{sync.pk}", {"provider_id": sandbox.pk})])

    for status in ["failed", "failed", "ok", "failed", "failed"]:
        run(status)
    assert not Event.objects.exists()
    run("failed")
    run("failed")
    assert kinds_of(manager) == [Kind.SYNC_FAILED]
    assert "failed 3 times in a row" in Event.objects.get().title


def test_a_stopped_worker_is_told_once_per_stop(db):
    manager = person("boss", "Manager")
    old = timezone.now() - timedelta(hours=1)
    Heartbeat.objects.create(name=Heartbeat.WORKER, seen_at=old)
    Heartbeat.objects.create(name=Heartbeat.BEAT, seen_at=timezone.now())

    assert health_check() == 1
    assert health_check() == 1
    assert kinds_of(manager) == [Kind.HEALTH]
    assert Event.objects.get().title.startswith("The worker stopped")


def test_a_failure_to_notify_never_undoes_what_happened(followers, monkeypatch):
    from notifications.services import recording

    def broken(occurrences):
        raise RuntimeError("boom")

    monkeypatch.setattr(recording, "drafts_for", broken)
    buyer = person("buyer", "Buyer")

    order = order_place(service=followers, link=link(), quantity=1000, user=buyer, enqueue=False)

    assert Order.objects.filter(pk=order.pk).exists()
