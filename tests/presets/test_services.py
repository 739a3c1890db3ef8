"""Presets applied to links: the preview's arithmetic, all-or-nothing, exactly once, budgets, approvals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from catalog.models import ShortlistRule, TeamPolicy
from catalog.services import shortlist_add, team_policy_save
from orders.models import Order, OrderStatus
from orders.services.common import OrderInvalid
from presets.models import PresetLine
from presets.services import (
    MAX_LINKS,
    MAX_ORDERS,
    links_parse,
    preset_apply,
    preset_archive,
    preset_cost_per_link,
    preset_preview,
    preset_save,
)
from providers.models import Provider
from team.models import Campaign
from tests.factories import SandboxServiceFactory, a_real_provider, links, person
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db

TOKEN = "form-token-0123456789"


def test_the_total_is_the_exact_sum_of_the_rows_and_a_drip_feed_pays_every_run():
    likes = SandboxServiceFactory(service_id=9100, rate=Decimal("1.23456"))
    views = SandboxServiceFactory(service_id=9200, rate=Decimal("0.07777"), dripfeed=True)
    preset = a_preset((likes, 1000), (views, 150, 3, 30))
    preview = preset_preview(preset=preset, links=links(2))
    estimates = [row.draft.estimate for row in preview.rows]
    one_link = [Decimal("1.23456"), (Decimal("0.07777") * 150 / 1000 * 3).quantize(Decimal("0.00001"))]
    assert estimates == one_link * 2
    assert all(isinstance(estimate, Decimal) for estimate in estimates)
    assert preview.totals == {"USD": sum(estimates, Decimal(0))}
    assert preview.totals["USD"] == Decimal("2.53912")  # 2 × (1.23456 + 0.035)
    assert preset_cost_per_link(preset) == {"USD": sum(one_link, Decimal(0))}


def test_it_places_one_order_per_line_and_per_link_in_the_order_of_the_preview():
    likes, follows = (
        SandboxServiceFactory(service_id=9100),
        SandboxServiceFactory(service_id=9101, category="Instagram Followers"),
    )
    buyer, spring = person("buyer", "Buyer"), Campaign.objects.create(name="Spring")
    preset = a_preset((likes, 1000), (follows, 200))
    orders = preset_apply(
        preset=preset, links=links(3), campaign=spring, token=TOKEN, user=buyer, enqueue=False
    )
    assert [(order.link, order.service_id, order.quantity) for order in orders] == [
        (link, service.pk, quantity)
        for link in links(3)
        for service, quantity in ((likes, 1000), (follows, 200))
    ]
    assert Order.objects.count() == 6
    assert {(order.status, order.campaign_id, order.user_id) for order in Order.objects.all()} == {
        (OrderStatus.QUEUED, spring.pk, buyer.pk)
    }
    assert AuditEntry.objects.filter(action=AuditAction.ORDER_PLACED).count() == 6


def test_the_same_form_posted_again_returns_the_first_orders_and_places_nothing_more():
    # The balance fits exactly one set: were the resubmission checked again, it would be refused
    # for want of funds (the first set is queued now), not recognised.
    Provider.objects.filter(name="Sandbox").update(balance=Decimal("2.46912"))
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    first = preset_apply(preset=preset, links=links(2), campaign=None, token=TOKEN, enqueue=False)
    again = preset_apply(preset=preset, links=links(2), campaign=None, token=TOKEN, enqueue=False)
    assert [order.pk for order in again] == [order.pk for order in first]
    assert Order.objects.count() == 2
    with pytest.raises(OrderInvalid):
        preset_apply(
            preset=preset, links=links(2), campaign=None, token="another-form-token-99", enqueue=False
        )
    assert Order.objects.count() == 2


def test_one_invalid_row_blocks_every_order_and_says_which():
    likes = SandboxServiceFactory(service_id=9100)
    gone = SandboxServiceFactory(service_id=9101, active=False)
    preset = a_preset((likes, 1000))
    mixed = ["https://instagram.com/p/a", "https://youtube.com/watch?v=b", "https://instagram.com/p/c"]
    preview = preset_preview(preset=preset, links=mixed)
    assert [row.ok for row in preview.rows] == [True, False, True]
    assert "not an Instagram link" in preview.rows[1].error
    assert preview.totals == {"USD": Decimal("2.46912")}
    with pytest.raises(OrderInvalid) as refused:
        preset_apply(preset=preset, links=mixed, campaign=None, token=TOKEN, enqueue=False)
    assert "1 of the 3 orders cannot be placed" in refused.value.errors["__all__"]
    PresetLine.objects.create(preset=preset, position=2, service=gone, quantity=100)
    preview = preset_preview(preset=preset, links=mixed[:1])
    assert preview.rows[1].error == "Service: Sandbox no longer offers this service."
    assert not Order.objects.exists()


def test_quantity_out_of_bounds_and_funds_are_checked_per_row_counting_the_rows_above():
    small = SandboxServiceFactory(service_id=9100, rate=Decimal("1.00"), max_quantity=5000)
    Provider.objects.filter(name="Sandbox").update(balance=Decimal("2.5"))
    preview = preset_preview(preset=a_preset((small, 1000)), links=links(3))
    assert [row.ok for row in preview.rows] == [True, True, False]
    assert preview.rows[2].error.startswith("Not enough funds: balance $0.50")
    preview = preset_preview(preset=a_preset((small, 6000), name="Big"), links=links(1))
    assert preview.rows[0].error == "Quantity: This service takes at most 5,000; the quantity: 6,000."


def test_links_skip_blank_lines_and_duplicates_and_too_many_are_refused():
    assert links_parse("\n https://instagram.com/p/a \n\n https://instagram.com/p/b\n") == [
        "https://instagram.com/p/a",
        "https://instagram.com/p/b",
    ]
    preset = a_preset(*((SandboxServiceFactory(service_id=9100 + number), 100) for number in range(6)))
    twice = ["https://instagram.com/p/a", "https://instagram.com/p/b", "https://instagram.com/p/a"]
    with pytest.raises(OrderInvalid) as refused:
        preset_preview(preset=preset, links=twice)
    assert "https://instagram.com/p/a (lines 1 and 3)" in refused.value.errors["links"]
    too_many_orders = links(MAX_ORDERS // 6 + 1)
    assert len(too_many_orders) <= MAX_LINKS
    with pytest.raises(OrderInvalid) as refused:
        preset_preview(preset=preset, links=too_many_orders)
    assert f"make {len(too_many_orders) * 6} orders" in refused.value.errors["links"]
    with pytest.raises(OrderInvalid):
        preset_preview(
            preset=a_preset((SandboxServiceFactory(service_id=9200), 100), name="One"),
            links=links(MAX_LINKS + 1),
        )
    with pytest.raises(OrderInvalid):
        preset_preview(preset=preset, links=[])


def test_a_budget_refuses_the_whole_batch_and_nothing_is_placed():
    from team.models import Budget

    buyer = person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("3.00"))
    preset = a_preset((SandboxServiceFactory(service_id=9100, provider=a_real_provider()), 1000))
    with pytest.raises(OrderInvalid) as refused:
        preset_apply(preset=preset, links=links(3), campaign=None, token=TOKEN, user=buyer, enqueue=False)
    # The whole batch is weighed at once (spend.py words it, "costs" and all).
    assert refused.value.errors["__all__"].startswith("These 3 orders cost $")
    assert "$3.70368; your budget for" in refused.value.errors["__all__"]
    assert not Order.objects.exists()
    assert len(preset_apply(preset=preset, links=links(2), campaign=None, token=TOKEN, user=buyer)) == 2


def test_an_apply_above_the_approval_threshold_waits_whole_and_the_preview_says_so(settings):
    settings.APPROVAL_THRESHOLD = Decimal("1.00")
    preset = a_preset(
        (SandboxServiceFactory(service_id=9100), 1000), (SandboxServiceFactory(service_id=9101), 100)
    )  # $1.23456 and $0.12346
    preview = preset_preview(preset=preset, links=links(2))
    assert [row.waits for row in preview.rows] == [True] * 4
    orders = preset_apply(preset=preset, links=links(2), campaign=None, token=TOKEN, enqueue=False)
    assert {order.status for order in orders} == {OrderStatus.AWAITING_APPROVAL}
    assert [order.events.get().message.partition("; ")[2] for order in orders[:2]] == [
        "waits for approval",
        "waits for approval: together above the approval threshold",
    ]
    generous = Campaign.objects.create(name="Launch", approval_threshold=Decimal("100"))
    assert preset_preview(preset=preset, links=links(1), campaign=generous).waiting == 2
    settings.APPROVAL_THRESHOLD = Decimal("2.00")
    assert preset_preview(preset=preset, links=links(1)).waiting == 0


def test_saving_replaces_the_lines_in_order_and_each_change_is_audited():
    likes, follows = SandboxServiceFactory(service_id=9100), SandboxServiceFactory(service_id=9101)
    buyer = person("buyer", "Buyer")
    preset = a_preset((likes, 1000), (follows, 50))
    preset_save(
        preset=preset,
        lines=[PresetLine(service=follows, quantity=70), PresetLine(service=likes, quantity=500)],
        user=buyer,
        ip="10.0.0.1",
    )
    assert list(preset.lines.values_list("position", "service__service_id", "quantity")) == [
        (1, 9101, 70),
        (2, 9100, 500),
    ]
    entry = AuditEntry.objects.filter(action=AuditAction.PRESET_CHANGED).first()
    assert (entry.actor, entry.ip, entry.target_label) == (buyer, "10.0.0.1", "Launch")
    assert [line["quantity"] for line in entry.before["lines"]] == [1000, 50]
    assert [line["quantity"] for line in entry.after["lines"]] == [70, 500]
    preset_archive(preset=preset, user=buyer, ip=None)
    assert AuditEntry.objects.filter(action=AuditAction.PRESET_CHANGED).first().after["active"] is False
    with pytest.raises(OrderInvalid):
        preset_apply(preset=preset, links=links(1), campaign=None, token=TOKEN, enqueue=False)


def test_the_preview_follows_the_shortlist_rule_of_the_person_applying():
    listed, unlisted = (
        SandboxServiceFactory(service_id=9100),
        SandboxServiceFactory(service_id=9101, category="Instagram Followers"),
    )
    shortlist_add(service=listed, house_name="IG likes", user=None)
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    preset = a_preset((listed, 1000), (unlisted, 200))

    team_policy_save(policy=TeamPolicy(shortlist_rule=ShortlistRule.APPROVAL), user=None)
    preview = preset_preview(preset=preset, links=links(2), user=buyer)
    assert [row.waits for row in preview.rows] == [False, True, False, True]
    assert preview.ok
    placed = preset_apply(
        preset=preset, links=links(2), campaign=None, token=TOKEN, user=buyer, enqueue=False
    )
    assert [order.status for order in placed] == [OrderStatus.QUEUED, OrderStatus.AWAITING_APPROVAL] * 2

    team_policy_save(policy=TeamPolicy(shortlist_rule=ShortlistRule.ONLY), user=None)
    refused = preset_preview(preset=preset, links=links(1), user=buyer)
    assert [bool(row.error) for row in refused.rows] == [False, True]
    assert "not on the team's shortlist" in refused.rows[1].error
    assert preset_preview(preset=preset, links=links(1), user=approver).ok
