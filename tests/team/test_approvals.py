"""Approvals: an order above the threshold waits; an approver sends it or declines it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from orders.models import EventKind, Order, OrderStatus
from orders.services import OrderActionError, order_place
from orders.services.approvals import order_approve, order_decline
from providers.sandbox.models import Order as SandboxOrder
from team.models import Campaign
from tests.orders.conftest import link
from tests.team.conftest import client_of, person
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def threshold(settings) -> None:
    settings.APPROVAL_THRESHOLD = Decimal("0.50")


def waiting_order(service, buyer) -> Order:
    order = order_place(service=service, link=link(), quantity=1000, user=buyer)
    assert order.status == OrderStatus.AWAITING_APPROVAL
    return order


def test_an_order_above_the_threshold_waits_and_is_not_sent(followers, django_capture_on_commit_callbacks):
    buyer = person("buyer", "Buyer")
    with django_capture_on_commit_callbacks() as callbacks:
        order = waiting_order(followers, buyer)
    assert callbacks == []
    assert order.events.get().message.endswith("waits for approval")
    cheap = order_place(service=followers, link=link(2), quantity=10, user=buyer, enqueue=False)
    assert cheap.status == OrderStatus.QUEUED


def test_a_campaigns_threshold_wins_over_the_team_setting(followers):
    buyer = person("buyer", "Buyer")
    generous = Campaign.objects.create(name="Launch", approval_threshold=Decimal("1000"))
    order = order_place(
        service=followers, link=link(), quantity=1000, user=buyer, campaign=generous, enqueue=False
    )
    assert order.status == OrderStatus.QUEUED
    assert order.campaign == generous


@pytest.mark.worker
def test_an_approved_order_is_queued_and_sent_by_the_worker_to_the_sandbox(drain, followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    order = waiting_order(followers, buyer)
    drain()
    assert not SandboxOrder.objects.exists()

    response = client_of(approver).post(reverse("orders:order_approve", args=[order.code]))

    assert response.status_code == 302
    sent = wait_for(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).first())
    assert sent.provider_order_id == SandboxOrder.objects.get().pk
    kinds = list(sent.events.values_list("kind", flat=True))
    assert kinds[:3] == [EventKind.CREATED, EventKind.APPROVED, EventKind.SUBMITTING]
    entry = AuditEntry.objects.get(action=AuditAction.ORDER_APPROVED)
    assert entry.actor == approver and entry.target_id == str(order.pk)
    assert entry.after["status"] == OrderStatus.QUEUED


@pytest.mark.worker
def test_a_declined_order_is_final_shows_the_reason_and_never_reaches_the_panel(drain, followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    order = waiting_order(followers, buyer)

    client_of(approver).post(
        reverse("orders:order_decline", args=[order.code]), {"reason": "Too big for May"}
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.DECLINED and order.is_final
    assert order.decline_reason == "Too big for May"
    drain()
    assert not SandboxOrder.objects.exists()
    entry = AuditEntry.objects.get(action=AuditAction.ORDER_DECLINED)
    assert entry.actor == approver and entry.note == "Too big for May"
    page = client_of(buyer).get(reverse("orders:order_detail", args=[order.code])).content.decode()
    assert "Declined:</strong> Too big for May" in page
    dashboard = client_of(buyer).get(reverse("dashboard")).content.decode()
    assert "Declined: Too big for May" in dashboard


def test_nobody_approves_their_own_order_except_a_superuser(followers, admin_user):
    approver = person("approver", "Approver")
    order = waiting_order(followers, approver)
    with pytest.raises(OrderActionError, match="their own order"):
        order_approve(order=order, user=approver)
    with pytest.raises(OrderActionError, match="their own order"):
        order_decline(order=order, user=approver, reason="changed my mind")
    response = client_of(approver).post(reverse("orders:order_approve", args=[order.code]), follow=True)
    assert "Nobody decides on their own order" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_APPROVAL
    own = waiting_order(followers, admin_user)
    order_approve(order=own, user=admin_user)
    assert Order.objects.get(pk=own.pk).status == OrderStatus.QUEUED


def test_a_buyer_cannot_decide_and_a_decision_is_taken_once(followers):
    buyer, other, approver = (
        person("buyer", "Buyer"),
        person("other", "Buyer"),
        person("approver", "Approver"),
    )
    order = waiting_order(followers, buyer)
    assert client_of(other).post(reverse("orders:order_approve", args=[order.code])).status_code == 403
    assert client_of(buyer).post(reverse("orders:order_decline", args=[order.code])).status_code == 403
    with pytest.raises(OrderActionError, match="Say why"):
        order_decline(order=order, user=approver, reason="  ")
    order_decline(order=order, user=approver, reason="No")
    with pytest.raises(OrderActionError, match="declined, not waiting"):
        order_approve(order=order, user=approver)
    assert AuditEntry.objects.filter(action=AuditAction.ORDER_APPROVED).count() == 0


def test_approvers_see_what_waits_for_them_and_the_requester_sees_it_waiting(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    order = waiting_order(followers, buyer)
    board = client_of(approver).get(reverse("dashboard")).content.decode()
    assert "Waiting for your approval" in board and order.code in board
    assert reverse("orders:order_approve", args=[order.code]) in board
    listed = client_of(approver).get(reverse("orders:order_list"), {"status": "awaiting_approval"})
    assert order.code in listed.content.decode()
    mine = client_of(buyer).get(reverse("dashboard")).content.decode()
    assert "Waiting for approval" in mine and reverse("orders:order_approve", args=[order.code]) not in mine
    page = client_of(buyer).get(reverse("orders:order_detail", args=[order.code])).content.decode()
    assert "Waiting for approval" in page
