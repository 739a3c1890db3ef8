"""A mass order waiting for approval is approved or declined in one go from the orders list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from orders.models import Order, OrderStatus
from orders.services.mass import mass_order_parse, mass_order_place
from tests.factories import client_of, link, person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def threshold(settings) -> None:
    settings.APPROVAL_THRESHOLD = Decimal("0.50")


def waiting_mass_order(
    followers, buyer, lines: int = 5, token: str = "bulk-decide-0123456789"
) -> list[Order]:
    text = "\n".join(f"{followers.service_id} | {link(n)} | 1000" for n in range(lines))
    orders = mass_order_place(
        lines=mass_order_parse(text, provider=followers.provider),
        provider=followers.provider,
        token=token,
        user=buyer,
        enqueue=False,
    )
    assert {order.status for order in orders} == {OrderStatus.AWAITING_APPROVAL}
    return orders


def bulk(client, orders: list[Order], action: str, **data: str):
    return client.post(
        reverse("orders:order_bulk"),
        {"order": [order.code for order in orders], "action": action, **data},
        follow=True,
    )


def test_an_approver_approves_every_line_of_a_waiting_mass_order_at_once(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    orders = waiting_mass_order(followers, buyer)
    client = client_of(approver)

    listing = client.get(reverse("orders:order_list"), {"status": "awaiting_approval"}).content.decode()
    assert 'value="approve"' in listing and 'value="decline"' in listing

    page = bulk(client, orders, "approve").content.decode()

    assert "5 orders approved." in page
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.QUEUED}
    assert AuditEntry.objects.filter(action=AuditAction.ORDER_APPROVED, actor=approver).count() == 5


def test_declining_in_bulk_needs_a_reason_and_records_it_on_each_order(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    orders = waiting_mass_order(followers, buyer, lines=3)
    client = client_of(approver)

    assert "Say why the orders are declined." in bulk(client, orders, "decline").content.decode()
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.AWAITING_APPROVAL}

    assert "3 orders declined." in bulk(client, orders, "decline", reason="Not this month").content.decode()
    assert set(Order.objects.values_list("decline_reason", flat=True)) == {"Not this month"}


def test_deciding_in_bulk_keeps_the_four_eyes_rule_and_skips_what_no_longer_waits(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    theirs = waiting_mass_order(followers, buyer, lines=2)
    own = waiting_mass_order(followers, approver, lines=2, token="bulk-decide-own-0123456789")
    Order.objects.filter(pk=theirs[1].pk).update(status=OrderStatus.CANCELED)

    page = bulk(client_of(approver), [*theirs, *own], "approve").content.decode()

    assert "1 order approved; 3 of the 4 selected could not be." in page
    assert Order.objects.get(pk=theirs[0].pk).status == OrderStatus.QUEUED
    assert {Order.objects.get(pk=order.pk).status for order in own} == {OrderStatus.AWAITING_APPROVAL}


def test_a_buyer_can_neither_see_nor_use_the_bulk_decision(followers):
    buyer, other = person("buyer", "Buyer"), person("other", "Buyer")
    orders = waiting_mass_order(followers, other, lines=2)
    client = client_of(buyer)

    listing = client.get(reverse("orders:order_list"), {"status": "awaiting_approval"}).content.decode()
    assert 'value="approve"' not in listing

    assert "You may not approve or decline orders." in bulk(client, orders, "approve").content.decode()
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.AWAITING_APPROVAL}
