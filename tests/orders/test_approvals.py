"""Approvals: an order above the threshold waits; an approver sends it or declines it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from orders.models import EventKind, Order, OrderStatus
from orders.services.approvals import order_approve, order_decline
from orders.services.common import OrderActionError, OrderInvalid
from orders.services.mass import mass_order_parse, mass_order_place
from orders.services.placing import order_place
from presets.services import preset_apply, preset_preview
from providers.sandbox.models import Order as SandboxOrder
from team.models import Campaign
from tests.factories import client_of, link, person
from tests.presets.conftest import a_preset
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


def test_a_campaigns_threshold_can_tighten_the_team_setting_but_never_loosen_it(followers):
    buyer = person("buyer", "Buyer")
    generous = Campaign.objects.create(name="Launch", approval_threshold=Decimal("1000"))
    strict = Campaign.objects.create(name="Careful", approval_threshold=Decimal("0.05"))

    big = order_place(
        service=followers, link=link(), quantity=1000, user=buyer, campaign=generous, enqueue=False
    )
    small = order_place(
        service=followers, link=link(2), quantity=100, user=buyer, campaign=strict, enqueue=False
    )
    free = order_place(service=followers, link=link(3), quantity=100, user=buyer, enqueue=False)

    assert big.status == OrderStatus.AWAITING_APPROVAL and big.campaign == generous
    assert small.status == OrderStatus.AWAITING_APPROVAL
    assert free.status == OrderStatus.QUEUED


def test_a_purchase_split_into_mass_order_lines_is_counted_whole_against_the_threshold(followers):
    buyer = person("buyer", "Buyer")
    text = "\n".join(f"{followers.service_id} | {link(n)} | 100" for n in range(10))  # 10 × $0.09

    orders = mass_order_place(
        lines=mass_order_parse(text, provider=followers.provider),
        provider=followers.provider,
        token="split-0123456789",
        user=buyer,
        enqueue=False,
    )

    assert {order.status for order in orders} == {OrderStatus.AWAITING_APPROVAL}
    assert (
        orders[0].events.get().message.endswith("waits for approval: together above the approval threshold")
    )
    single = order_place(service=followers, link=link(11), quantity=100, user=buyer, enqueue=False)
    assert single.status == OrderStatus.QUEUED


def test_a_preset_applied_to_many_links_is_counted_whole_and_its_preview_says_so(followers):
    buyer = person("buyer", "Buyer")
    preset = a_preset((followers, 100))
    links = [link(n) for n in range(8)]  # 8 × $0.09

    preview = preset_preview(preset=preset, links=links, user=buyer)
    orders = preset_apply(
        preset=preset, links=links, campaign=None, token="preset-0123456789", user=buyer, enqueue=False
    )

    assert preview.waiting == 8
    assert {order.status for order in orders} == {OrderStatus.AWAITING_APPROVAL}


def test_a_campaign_restricted_to_its_members_takes_orders_from_its_members_only(followers, admin_user):
    member, outsider = person("member", "Buyer"), person("outsider", "Buyer")
    closed = Campaign.objects.create(name="Secret", members_only=True)
    closed.members.add(member)

    with pytest.raises(OrderInvalid) as refused:
        order_place(
            service=followers, link=link(), quantity=10, user=outsider, campaign=closed, enqueue=False
        )
    assert refused.value.errors["campaign"] == (
        "Campaign “Secret” takes orders from its members only: ask a manager to add you."
    )
    assert order_place(
        service=followers, link=link(2), quantity=10, user=member, campaign=closed, enqueue=False
    )
    assert order_place(
        service=followers, link=link(3), quantity=10, user=admin_user, campaign=closed, enqueue=False
    )
    new = f"{reverse('orders:order_create')}?service={followers.pk}"
    assert "Secret" not in client_of(outsider).get(new).content.decode()
    assert "Secret" in client_of(member).get(new).content.decode()
    mass = client_of(outsider).post(
        reverse("orders:mass_order"),
        {
            "provider": followers.provider_id,
            "text": f"{followers.service_id} | {link(4)} | 10",
            "campaign": closed.pk,
            "submission_token": "members-0123456789",
            "action": "confirm",
        },
    )
    assert mass.status_code == 200 and Order.objects.filter(user=outsider).count() == 0


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
