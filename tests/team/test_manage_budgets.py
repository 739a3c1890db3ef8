"""Budgets: managers set people's monthly budgets and the team's caps by provider in our pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from catalog.models import Service
from orders.models import Order, OrderStatus
from providers.models import Provider
from team.models import Budget, Campaign
from team.services import BudgetUse
from tests.factories import a_real_provider, client_of, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_provider() -> Provider:
    return Provider.objects.get(name="Sandbox")


def spend(user, amount: str) -> Order:
    """An order of `user` this month with a real provider, queued: it counts its estimate."""
    provider = a_real_provider()
    service, _ = Service.objects.get_or_create(
        provider=provider, service_id=9100,
        defaults={"name": "Followers", "type": "Default", "category": "Instagram Followers",
                  "rate": Decimal("1"), "min_quantity": 10, "max_quantity": 1000},
    )  # fmt: skip
    return Order.objects.create(
        provider=provider, service=service, user=user, link="https://instagram.com/p/a", quantity=100,
        estimated_charge=Decimal(amount), status=OrderStatus.QUEUED,
    )  # fmt: skip


def test_a_manager_sets_a_person_budget_and_a_provider_cap_and_each_change_is_audited(
    manager, sandbox_provider
):
    buyer = person("buyer", "Buyer")
    client = client_of(manager)
    url = reverse("team:budget_create")
    data = {"user": buyer.pk, "amount": "100", "currency": "usd"}
    assert client.post(url, data, REMOTE_ADDR="192.0.2.8").status_code == 302
    mine = Budget.objects.get(user=buyer)
    assert (mine.amount, mine.currency) == (Decimal("100"), "USD")
    assert (
        client.post(url, {"provider": sandbox_provider.pk, "amount": "500", "currency": "USD"}).status_code
        == 302
    )
    assert Budget.objects.get(provider=sandbox_provider).amount == Decimal("500")
    edit = reverse("team:budget_edit", args=[mine.pk])
    assert client.post(edit, {"amount": "80", "currency": "USD"}).status_code == 302
    mine.refresh_from_db()
    assert (mine.amount, mine.user) == (Decimal("80"), buyer)
    changes = list(AuditEntry.objects.filter(action=AuditAction.BUDGET_CHANGED).order_by("id"))
    assert [Decimal(entry.after["amount"]) for entry in changes] == [
        Decimal("100"),
        Decimal("500"),
        Decimal("80"),
    ]
    assert (changes[0].actor, changes[0].ip) == (manager, "192.0.2.8")
    assert Decimal(changes[2].before["amount"]) == Decimal("100")


def test_a_budget_needs_one_scope_a_non_negative_amount_and_a_cap_in_the_providers_currency(
    manager, sandbox_provider
):
    buyer = person("buyer", "Buyer")
    client = client_of(manager)
    url = reverse("team:budget_create")
    for scope in ({}, {"user": buyer.pk, "provider": sandbox_provider.pk}):
        page = client.post(url, {**scope, "amount": "10", "currency": "USD"}).content.decode()
        assert "Choose either a person or a provider." in page
    page = client.post(url, {"user": buyer.pk, "amount": "-1", "currency": "USD"}).content.decode()
    assert "Ensure this value is greater than or equal to 0." in page
    page = client.post(
        url, {"provider": sandbox_provider.pk, "amount": "10", "currency": "EUR"}
    ).content.decode()
    assert "Sandbox bills in USD: set the cap in it." in page
    assert not Budget.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.BUDGET_CHANGED).exists()


def test_someone_who_has_a_budget_is_not_offered_a_second_one(manager):
    buyer = person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("5"))
    client = client_of(manager)
    assert f'value="{buyer.pk}"' not in client.get(reverse("team:budget_create")).content.decode()
    page = client.post(reverse("team:budget_create"), {"user": buyer.pk, "amount": "9", "currency": "USD"})
    assert "Select a valid choice." in page.content.decode()
    assert Budget.objects.get().amount == Decimal("5")


def test_the_page_shows_spent_left_and_a_bar_rounded_half_up_from_decimals(manager):
    eighth, over = person("eighth", "Buyer"), person("over", "Buyer")
    Budget.objects.create(user=eighth, amount=Decimal("8"))
    Budget.objects.create(user=over, amount=Decimal("5"))
    Budget.objects.create(provider=a_real_provider(), amount=Decimal("1000"))
    spend(eighth, "1.00")  # 12.5 %: half up is 13 (a float's round() would say 12)
    spend(over, "7.00")
    page = client_of(manager).get(reverse("team:budget_list")).content.decode()
    assert 'aria-label="13% used"' in page and 'width="13"' in page
    assert "7.00 USD" in page and "over the budget" in page and 'width="100"' in page
    assert "8.00 USD" in page  # the team spent 8.00 with the panel: 1 % of its cap
    assert 'aria-label="1% used"' in page
    assert reverse("team:campaign_list") in page
    assert "never deleted" in page


def test_a_budget_use_computes_left_and_the_share_in_decimals():
    assert BudgetUse(amount=Decimal("30"), currency="USD", spent=Decimal("10.01")).percent == 33
    assert BudgetUse(amount=Decimal("30"), currency="USD", spent=Decimal("10.01")).left == Decimal("19.99")
    assert BudgetUse(amount=Decimal("0"), currency="USD", spent=Decimal("0")).percent == 100
    assert BudgetUse(amount=Decimal("2"), currency="USD", spent=Decimal("3")).left == Decimal("0")
    assert BudgetUse(amount=None, currency="USD", spent=Decimal("3")).percent == 0


def test_budget_pages_refuse_anyone_without_the_right(manager):
    approver = person("approver", "Approver")
    budget = Budget.objects.create(user=approver, amount=Decimal("5"))
    client = client_of(approver)
    assert client.get(reverse("team:budget_list")).status_code == 403
    edit = reverse("team:budget_edit", args=[budget.pk])
    assert client.post(edit, {"amount": "500", "currency": "USD"}).status_code == 403
    create = reverse("team:budget_create")
    assert client.post(create, {"user": manager.pk, "amount": "1", "currency": "USD"}).status_code == 403
    assert list(Budget.objects.values_list("amount", flat=True)) == [Decimal("5")]


def test_the_edit_form_shows_the_budgets_own_currency_and_a_link_can_name_the_person(manager):
    euro, newcomer = person("euro", "Buyer"), person("newcomer", "Buyer")
    budget = Budget.objects.create(user=euro, amount=Decimal("5"), currency="EUR")
    client = client_of(manager)
    page = client.get(reverse("team:budget_edit", args=[budget.pk])).content.decode()
    assert 'value="EUR"' in page and 'name="user"' not in page
    page = client.get(reverse("team:budget_create"), {"user": newcomer.pk}).content.decode()
    assert f'<option value="{newcomer.pk}" selected>' in page


def test_the_budget_and_campaign_lists_cost_the_same_queries_for_two_or_twenty_rows(
    manager, sandbox_provider, django_assert_max_num_queries
):
    def add(first: int, count: int) -> None:
        for n in range(first, first + count):
            buyer = person(f"buyer{n}", "Buyer")
            Budget.objects.create(user=buyer, amount=Decimal("50"))
            spend(buyer, "1.25")
            Campaign.objects.create(name=f"Campaign {n}", monthly_budget=Decimal("10"))

    client = client_of(manager)
    add(0, 2)
    counts = {}
    for name in ("team:budget_list", "team:campaign_list"):
        with django_assert_max_num_queries(100) as few:
            client.get(reverse(name))
        counts[name] = len(few.captured_queries)
    add(2, 18)
    for name in ("team:budget_list", "team:campaign_list"):
        with django_assert_max_num_queries(counts[name]):
            page = client.get(reverse(name)).content.decode()
    assert page.count("Campaign ") >= 20
    budgets = client.get(reverse("team:budget_list")).content.decode()
    assert budgets.count('<td class="num">1.25 USD</td>') == 20
