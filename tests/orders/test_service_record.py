"""A service's record where orders are decided: the order form, the approval page, the dashboard,
and a provider's own record page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Scorecard
from orders.models import Order, OrderStatus
from tests.factories import PlainServiceFactory, a_provider, client_of, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(db):
    return PlainServiceFactory(provider=a_provider("Alpha"))


def judged(service) -> None:
    """48 of 50 recent orders completed, started within 20 minutes (median), and 9 of 9 over 90 days."""
    Scorecard.objects.create(
        provider=service.provider, service=service, days=30, orders=50, completed=48, rejected=2,
        starts=48, start_median=1200, start_p90=3600,
    )  # fmt: skip
    Scorecard.objects.create(provider=service.provider, service=service, days=90, orders=9, completed=9)
    service.reliability = Decimal("0.96")
    service.save(update_fields=["reliability"])


def waiting(service, buyer) -> Order:
    return Order.objects.create(
        provider=service.provider,
        service=service,
        user=buyer,
        link="https://instagram.com/p/a",
        quantity=1000,
        estimated_charge=Decimal("1.00"),
        status=OrderStatus.AWAITING_APPROVAL,
    )


def test_the_order_form_shows_the_chosen_services_record(service):
    judged(service)
    html = client_of(person("buyer", "Buyer")).get(f"{reverse('orders:order_create')}?service={service.pk}")

    page = html.content.decode()
    assert "Record, last 30 days" in page
    assert "<strong>96%</strong> completed of 50 orders, started within 20 min (median)" in page
    assert "Last 90 days" in page and "too few orders to judge" in page  # nine orders prove nothing
    assert reverse("catalog:provider_record", args=[service.provider.pk]) in page


def test_the_order_form_of_a_service_never_ordered_says_too_few_orders_to_judge(service):
    page = client_of(person("buyer", "Buyer")).get(f"{reverse('orders:order_create')}?service={service.pk}")

    summary = page.content.decode().split("Record, last 30 days:")[1].split("</summary>")[0]
    assert "too few orders to judge" in summary and "%" not in summary


def test_an_approver_sees_the_services_record_open_before_deciding(service):
    judged(service)
    order = waiting(service, person("buyer", "Buyer"))

    page = client_of(person("approver", "Approver")).get(reverse("orders:order_detail", args=[order.code]))

    html = page.content.decode()
    assert '<details class="service-record" open>' in html
    assert "Our record with this service" in html and "96%" in html
    assert html.index("service-record") < html.index('name="reason"')  # above the decision


def test_an_order_no_longer_waiting_does_not_repeat_the_record(service):
    judged(service)
    order = waiting(service, person("buyer", "Buyer"))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)

    page = client_of(person("approver", "Approver")).get(reverse("orders:order_detail", args=[order.code]))

    assert "service-record" not in page.content.decode()


def test_the_dashboard_shows_each_waiting_orders_service_reliability_beside_the_decision(service):
    judged(service)
    waiting(service, person("buyer", "Buyer"))
    unknown = PlainServiceFactory(provider=service.provider)
    waiting(unknown, person("other", "Buyer"))

    html = client_of(person("approver", "Approver")).get("/").content.decode()

    decide = html[html.index("Waiting for your approval") :]
    assert "96% completed" in decide and "too few orders to judge" in decide


def test_a_providers_record_page_shows_its_cards_and_leads_to_its_services_best_first(service):
    Scorecard.objects.create(
        provider=service.provider, days=30, orders=120, completed=90, partial=30, delivered_orders=120,
        quantity_ordered=12_000, quantity_delivered=11_000, starts=120, start_median=60, start_p90=600,
        finishes=120, finish_median=7200, finish_p90=86_400,
    )  # fmt: skip

    page = client_of(person("viewer", "Viewer")).get(
        reverse("catalog:provider_record", args=[service.provider.pk])
    )

    html = page.content.decode()
    assert "Alpha" in html and "75%" in html and "25%" in html and "92%" in html  # 11,000 of 12,000
    assert "2 h" in html and "1 d" in html
    assert html.count("too few orders to judge") == 4  # the 90-day card is empty
    assert f"?provider={service.provider.pk}&amp;sort=reliability" in html


def test_the_managers_provider_list_shows_each_providers_reliability_linking_to_its_record(service):
    Scorecard.objects.create(provider=service.provider, days=30, orders=20, completed=19, canceled=1)
    a_provider("Beta")

    html = client_of(person("manager", "Manager")).get(reverse("team:provider_list")).content.decode()

    alpha = html[html.index("Alpha") : html.index("Beta")]
    beta = html[html.index("Beta") :]
    assert "95%" in alpha and reverse("catalog:provider_record", args=[service.provider.pk]) in alpha
    assert "too few orders to judge" in beta.split("</tr>")[0]
