"""Monthly budgets: the spend arithmetic, the refusal with its numbers, and the race."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone
from django.utils.formats import date_format

from catalog.models import Service
from orders.models import Order, OrderStatus
from orders.services import spend as budgets_module
from orders.services.common import OrderInvalid
from orders.services.placing import order_place
from orders.services.spend import budget_spent, spent_by
from providers.models import Provider
from team.models import Budget, Campaign
from tests.factories import PlainServiceFactory, a_real_provider, person


def a_service(rate: str = "100.00") -> Service:
    return PlainServiceFactory(
        provider=a_real_provider(), service_id=9100, name="Followers", rate=Decimal(rate)
    )


def an_order(service: Service, user, status: str, estimate: str, **extra) -> Order:
    return Order.objects.create(
        provider=service.provider,
        service=service,
        user=user,
        link="https://instagram.com/p/a",
        quantity=extra.pop("quantity", 100),
        estimated_charge=Decimal(estimate),
        status=status,
        **extra,
    )


def this_month() -> str:
    return date_format(timezone.localtime(), "F")


def test_spend_counts_estimates_charges_and_takes_off_partial_and_canceled_refunds(db):
    service, buyer, other = a_service(), person("buyer", "Buyer"), person("other", "Buyer")
    an_order(service, buyer, OrderStatus.QUEUED, "10.00")
    an_order(service, buyer, OrderStatus.AWAITING_APPROVAL, "5.00")
    an_order(service, buyer, OrderStatus.UNCONFIRMED, "0.10")
    an_order(service, buyer, OrderStatus.PENDING, "3.00")
    an_order(service, buyer, OrderStatus.COMPLETED, "3.00", charge=Decimal("2.50"))
    # Partial: the panel lowered the charge by the undelivered part.
    an_order(service, buyer, OrderStatus.PARTIAL, "2.00", charge=Decimal("1.20"))
    # Partial with no charge reported yet: 75 of 100 delivered, 3/4 of the estimate.
    an_order(service, buyer, OrderStatus.PARTIAL, "4.00", remains=25)
    # Refunded in full, or never spent.
    an_order(service, buyer, OrderStatus.CANCELED, "7.00", charge=Decimal("7.00"))
    an_order(service, buyer, OrderStatus.REJECTED, "9.00")
    an_order(service, buyer, OrderStatus.DECLINED, "8.00")
    # Another month, another person, another currency.
    an_order(service, buyer, OrderStatus.COMPLETED, "50.00", created_at=timezone.now() - timedelta(days=40))
    an_order(service, other, OrderStatus.COMPLETED, "60.00")
    an_order(service, buyer, OrderStatus.COMPLETED, "70.00", currency="EUR")
    today = timezone.localdate()
    assert budget_spent(user=buyer, month=today, currency="USD") == Decimal("24.80")
    assert budget_spent(provider=service.provider, month=today, currency="USD") == Decimal("84.80")
    assert budget_spent(user=buyer, month=today, currency="EUR") == Decimal("70.00")


def test_sandbox_orders_count_in_no_persons_or_campaigns_budget_only_in_the_sandboxs_own_cap(db):
    sandbox = Provider.objects.get(name="Sandbox")
    service = PlainServiceFactory(
        provider=sandbox, service_id=9200, name="Sandbox followers", rate=Decimal("100.00")
    )
    buyer = person("buyer", "Buyer")
    spring = Campaign.objects.create(name="Spring", monthly_budget=Decimal("30.00"))
    Budget.objects.create(user=buyer, amount=Decimal("10.00"))
    an_order(service, buyer, OrderStatus.COMPLETED, "50.00", charge=Decimal("50.00"), campaign=spring)
    today = timezone.localdate()
    assert budget_spent(user=buyer, month=today, currency="USD") == Decimal("0")
    assert budget_spent(campaign=spring, month=today, currency="USD") == Decimal("0")
    assert budget_spent(provider=sandbox, month=today, currency="USD") == Decimal("50.00")
    assert spent_by(scope="user", month=today, keys=[buyer.pk]) == {}
    assert spent_by(scope="provider", month=today, keys=[sandbox.pk]) == {
        (sandbox.pk, "USD"): Decimal("50.00")
    }
    # Over the person's and the campaign's budget, and placed: it spends no real money.
    place = {"service": service, "link": "https://instagram.com/p/b", "quantity": 400, "user": buyer}
    order_place(**place, campaign=spring, enqueue=False)
    # A cap on the Sandbox provider itself counts its orders.
    Budget.objects.create(provider=sandbox, amount=Decimal("100.00"))
    with pytest.raises(OrderInvalid) as refused:
        order_place(**place, enqueue=False)
    assert refused.value.errors["__all__"] == (
        f"This order costs $40.00; the team's Sandbox budget for {this_month()} has $10.00 left."
    )


def test_spend_takes_exactly_one_scope(db):
    with pytest.raises(ValueError):
        budget_spent(month=timezone.localdate(), currency="USD")


def test_an_order_over_the_persons_budget_is_refused_with_the_numbers(db):
    service, buyer = a_service(), person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("50.00"))
    an_order(service, buyer, OrderStatus.PENDING, "37.50")
    with pytest.raises(OrderInvalid) as refused:
        order_place(
            service=service, link="https://instagram.com/p/b", quantity=400, user=buyer, enqueue=False
        )
    assert refused.value.errors["__all__"] == (
        f"This order costs $40.00; your budget for {this_month()} has $12.50 left."
    )
    assert Order.objects.count() == 1
    # What fits is accepted.
    order_place(service=service, link="https://instagram.com/p/b", quantity=125, user=buyer, enqueue=False)
    assert Order.objects.count() == 2


def test_a_canceled_order_gives_its_money_back_to_the_budget(db):
    service, buyer = a_service(), person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("50.00"))
    old = an_order(service, buyer, OrderStatus.PENDING, "40.00")
    with pytest.raises(OrderInvalid):
        order_place(
            service=service, link="https://instagram.com/p/b", quantity=400, user=buyer, enqueue=False
        )
    Order.objects.filter(pk=old.pk).update(status=OrderStatus.CANCELED, charge=Decimal("40.00"))
    order_place(service=service, link="https://instagram.com/p/b", quantity=400, user=buyer, enqueue=False)


def test_the_campaign_budget_and_the_providers_team_cap_refuse_too(db):
    service, buyer = a_service(), person("buyer", "Buyer")
    spring = Campaign.objects.create(name="Spring", monthly_budget=Decimal("30.00"))
    an_order(service, buyer, OrderStatus.QUEUED, "10.00", campaign=spring)
    with pytest.raises(OrderInvalid) as refused:
        order_place(
            service=service,
            link="https://instagram.com/p/b",
            quantity=400,
            user=buyer,
            campaign=spring,
            enqueue=False,
        )
    assert refused.value.errors["__all__"] == (
        f"This order costs $40.00; the budget of campaign “Spring” for {this_month()} has $20.00 left."
    )
    Budget.objects.create(provider=service.provider, amount=Decimal("45.00"))
    with pytest.raises(OrderInvalid) as refused:
        order_place(
            service=service, link="https://instagram.com/p/b", quantity=400, user=buyer, enqueue=False
        )
    assert refused.value.errors["__all__"] == (
        f"This order costs $40.00; the team's Panel budget for {this_month()} has $35.00 left."
    )


def test_a_budget_in_another_currency_refuses_rather_than_compares(db):
    service, buyer = a_service(), person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("500.00"), currency="EUR")
    with pytest.raises(OrderInvalid) as refused:
        order_place(
            service=service, link="https://instagram.com/p/b", quantity=100, user=buyer, enqueue=False
        )
    assert refused.value.errors["__all__"] == "This order is in USD; your budget is in EUR."


def test_the_order_page_shows_the_refusal_and_queues_nothing(db):
    from django.urls import reverse

    from tests.factories import client_of

    service, buyer = a_service(), person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("10.00"))
    response = client_of(buyer).post(
        reverse("orders:order_create"),
        {
            "service": service.pk,
            "link": "https://instagram.com/p/b",
            "quantity": 400,
            "submission_token": "t1",
        },
    )
    assert response.status_code == 200
    assert (
        f"This order costs $40.00; your budget for {this_month()} has $10.00 left."
        in response.content.decode()
    )
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_buyers_at_the_same_instant_cannot_together_exceed_the_team_cap(monkeypatch):
    """Each order fits the cap alone, both together do not: exactly one is accepted.

    The spend is made slow so that, without the lock, both would read it before either saved.
    """
    service = a_service()
    Budget.objects.create(provider=service.provider, amount=Decimal("60.00"))
    buyers = [person("buyer1", "Buyer"), person("buyer2", "Buyer")]
    counted = budgets_module.budget_spent

    def slow_spent(**kwargs):
        spent = counted(**kwargs)
        threading.Event().wait(0.5)
        return spent

    monkeypatch.setattr(budgets_module, "budget_spent", slow_spent)
    start = threading.Barrier(len(buyers))
    outcomes: list[str] = []

    def place(buyer) -> None:
        try:
            start.wait()
            order_place(
                service=service, link="https://instagram.com/p/b", quantity=400, user=buyer, enqueue=False
            )
            outcomes.append("accepted")
        except OrderInvalid as exc:
            outcomes.append(exc.errors["__all__"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=place, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    refusal = f"This order costs $40.00; the team's Panel budget for {this_month()} has $20.00 left."
    assert sorted(outcomes) == sorted(["accepted", refusal])
    assert Order.objects.count() == 1
