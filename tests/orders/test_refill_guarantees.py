"""Refill guarantees: each completed order's window, the orders due a refill, the panel's
refusals as outcomes, a manager's correction of a period, and campaigns refilling by themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from catalog.models import Service
from catalog.refill import LIFETIME
from catalog.services import catalog_sync, service_refill_correct
from orders.models import Order, OrderStatus, Refill, RefillStatus
from orders.services.actions import refill_request, refills_auto_round, refills_request
from orders.services.guarantees import refill_askable, refills_due
from orders.signals import refill_refused
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.services import refill_create
from team.models import Campaign
from tests.orders.conftest import days_ago

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_completed_order_of_a_30_day_service_is_guaranteed_30_days_from_completion(finish, thirty_days):
    (order,) = finish(thirty_days, 1)

    assert order.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
    assert order.refill_until == order.finished_at + timedelta(days=30)
    assert order.refill_from == order.finished_at + timedelta(hours=24)
    assert not refill_askable(order)  # the panel refuses within a day of completion
    assert refill_askable(order, now=order.finished_at + timedelta(hours=25))


def test_orders_of_a_service_without_refill_have_no_window(finish, catalog):
    no_refill = catalog("Default", name__contains="[No Refill]", category__startswith="Instagram Followers")
    (order,) = finish(no_refill, 1)
    assert order.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
    assert order.refill_until is None
    assert not refills_due().filter(pk=order.pk).exists()


def test_refills_due_lists_orders_in_their_window_not_refilled_lately_expiring_soonest_first(
    finish, thirty_days, catalog, clock
):
    ninety = catalog("Default", name__contains="[Refill: 90D]", category__startswith="Instagram Followers")
    late = days_ago(finish(ninety, 1, first=1), 10, clock)
    soon = days_ago(finish(thirty_days, 1, first=2), 20, clock)
    over = days_ago(finish(thirty_days, 1, first=3), 31, clock)
    refilled, pending = days_ago(finish(thirty_days, 2, first=4), 5, clock)
    two_days_ago = timezone.now() - timedelta(days=2)
    Refill.objects.create(
        order=refilled, status=RefillStatus.COMPLETED, requested_at=two_days_ago, finished_at=two_days_ago
    )
    Refill.objects.create(
        order=pending, status=RefillStatus.PENDING, requested_at=timezone.now() - timedelta(days=9)
    )

    due = list(refills_due().order_by("refill_until", "pk"))

    assert [o.pk for o in due] == [soon[0].pk, late[0].pk]
    assert over[0].pk not in [o.pk for o in due]
    # Refilled two days ago: due again once "the last N days" is shorter than that.
    assert refilled in refills_due(days=1)
    assert pending not in refills_due(days=1)  # never a second while one is pending


def test_a_refill_that_failed_before_reaching_the_panel_leaves_the_order_due(finish, thirty_days):
    (order,) = finish(thirty_days, 1)
    Refill.objects.create(
        order=order, status=RefillStatus.FAILED, finished_at=timezone.now(), error="timeout"
    )
    assert order in refills_due()


def test_refills_due_filters_by_campaign_provider_and_platform(finish, thirty_days, catalog):
    spring = Campaign.objects.create(name="Spring")
    tiktok = catalog("Default", name__contains="[Refill: 30D]", category__startswith="TikTok Followers")
    ours = finish(thirty_days, 1, first=1, campaign=spring)[0]
    other = finish(tiktok, 1, first=2)[0]

    assert list(refills_due(campaign_id=spring.pk)) == [ours]
    assert list(refills_due(platform=tiktok.platform)) == [other]
    assert set(refills_due(provider_id=ours.provider_id)) == {ours, other}
    assert not refills_due(provider_id=ours.provider_id + 1000).exists()


def test_the_panels_refusals_are_recorded_as_outcomes_and_told_to_who_listens(
    finish, thirty_days, catalog, clock
):
    (asked_elsewhere,) = days_ago(finish(thirty_days, 1), 2, clock)
    # Asked on the panel's own site: the panel refuses a second one while it runs.
    refill_create(order=SandboxOrder.objects.get(pk=asked_elsewhere.provider_order_id))
    told = []

    def listen(sender, refills, **kwargs):
        told.extend(refills)

    refill_refused.connect(listen)
    try:
        (refill,) = refills_request(orders=[asked_elsewhere])
    finally:
        refill_refused.disconnect(listen)

    assert (refill.status, refill.error) == (
        RefillStatus.REFUSED,
        "The refill task is not completed for this order",
    )
    assert refill.finished_at is not None and refill.provider_refill_id is None
    assert told == [refill]
    entry = AuditEntry.objects.get(action=AuditAction.ORDER_REFILL)
    assert entry.after["status"] == "refused"


def test_a_service_the_panel_does_not_refill_is_refused_when_a_manager_says_it_does(
    finish, catalog, clock, admin_user
):
    no_refill = catalog("Default", refill=False, category__startswith="Instagram Followers")
    (order,) = days_ago(finish(no_refill, 1), 2, clock)
    assert order.refill_until is None

    service_refill_correct(service=no_refill, days=30, user=admin_user)
    order.refresh_from_db()
    assert order.refill_until == order.finished_at + timedelta(days=30)
    refill = refill_request(order=Order.objects.select_related("service", "provider").get(pk=order.pk))

    assert (refill.status, refill.error) == (RefillStatus.REFUSED, "Refill is disabled for this service")


def test_a_managers_correction_is_audited_moves_the_windows_and_outlives_a_sync(
    finish, thirty_days, admin_user, sandbox
):
    (order,) = finish(thirty_days, 1)

    service_refill_correct(service=thirty_days, days=LIFETIME, user=admin_user, ip="10.0.0.1")

    order.refresh_from_db()
    assert order.refill_until == order.finished_at + timedelta(days=LIFETIME)
    entry = AuditEntry.objects.get(action=AuditAction.SERVICE_REFILL_CHANGED)
    assert (entry.actor, entry.before, entry.after) == (
        admin_user,
        {"refill": "as the panel says (30 days)"},
        {"refill": "Lifetime"},
    )
    catalog_sync(provider=sandbox)
    thirty_days.refresh_from_db()
    assert (thirty_days.refill_days, thirty_days.refill_days_override) == (30, LIFETIME)
    assert thirty_days.refill_period_label == "Lifetime"

    service_refill_correct(service=thirty_days, days=None, user=admin_user)
    order.refresh_from_db()
    assert order.refill_until == order.finished_at + timedelta(days=30)


def test_a_sync_reads_each_services_refill_period(sandbox):
    catalog_sync(provider=sandbox)
    periods = {
        tier: set(Service.objects.filter(name__contains=tier).values_list("refill_days", flat=True))
        for tier in ("[Refill: 30D]", "[Refill: 90D]", "[Refill: Lifetime]", "[No Refill]")
    }
    assert periods == {
        "[Refill: 30D]": {30},
        "[Refill: 90D]": {90},
        "[Refill: Lifetime]": {LIFETIME},
        "[No Refill]": {0},
    }


def test_a_campaigns_auto_refill_asks_every_n_days_inside_the_window_as_the_system(
    finish, thirty_days, clock, panel_calls
):
    weekly = Campaign.objects.create(name="Weekly", auto_refill_every_days=7)
    off = Campaign.objects.create(name="Off")
    ours = days_ago(finish(thirty_days, 2, first=1, campaign=weekly), 2, clock)
    days_ago(finish(thirty_days, 1, first=3, campaign=off), 2, clock)
    young = finish(thirty_days, 1, first=4, campaign=weekly)  # completed just now: too early
    panel_calls.calls.clear()

    assert refills_auto_round() == 2

    assert panel_calls.count("refill") == 1
    asked = Refill.objects.filter(provider_refill_id__isnull=False)
    assert sorted(asked.values_list("order_id", flat=True)) == sorted(o.pk for o in ours)
    assert not Refill.objects.filter(order=young[0]).exists()
    entries = AuditEntry.objects.filter(action=AuditAction.ORDER_REFILL)
    assert {(e.actor, e.actor_name) for e in entries} == {(None, "system: auto-refill of campaign Weekly")}
    # The same round again asks nothing: each has a refill pending, then one within 7 days.
    assert refills_auto_round() == 0
    Refill.objects.update(status=RefillStatus.COMPLETED, finished_at=timezone.now(), next_check_at=None)
    clock.advance(simulated=True, days=8)
    # Three days on: only the young order, now a day past completion, is asked.
    assert refills_auto_round(now=timezone.now() + timedelta(days=3)) == 1
    assert Refill.objects.filter(order=young[0]).exists()
    assert refills_auto_round(now=timezone.now() + timedelta(days=8)) == 2


def test_a_service_renamed_by_the_panel_has_its_period_read_again(sandbox):
    from providers.sandbox.models import Service as SandboxService

    catalog_sync(provider=sandbox)
    service = Service.objects.filter(name__contains="[Refill: 30D]").order_by("pk").first()
    SandboxService.objects.filter(pk=service.service_id).update(name="Instagram Followers ♻️ 60D")

    catalog_sync(provider=sandbox)

    service.refresh_from_db()
    assert (service.name, service.refill_days) == ("Instagram Followers ♻️ 60D", 60)


def test_the_scheduler_runs_auto_refill_through_its_task(settings, finish, thirty_days, clock):
    from orders.tasks import auto_refill

    entry = settings.CELERY_BEAT_SCHEDULE["auto-refill"]
    assert entry["task"] == auto_refill.name and entry["options"]["expires"] < entry["schedule"]
    campaign = Campaign.objects.create(name="Daily", auto_refill_every_days=1)
    (order,) = days_ago(finish(thirty_days, 1, campaign=campaign), 2, clock)

    auto_refill.apply()

    assert Refill.objects.get(order=order).provider_refill_id is not None
