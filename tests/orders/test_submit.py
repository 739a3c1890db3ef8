"""Placing an order exactly once: validation, the token, and every outcome of `add`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import EventKind, Order, OrderStatus
from orders.services.common import OrderInvalid
from orders.services.placing import order_place
from orders.services.submitting import (
    max_countdown,
    order_resolve,
    order_submit,
    order_submit_now,
    orders_submit,
    orders_sweep,
    submit_backoff,
)
from providers.models import Provider
from providers.sandbox.models import Order as SandboxOrder
from providers.sandbox.views import answers_in_progress
from tests.factories import link
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def place(service, number: int = 1, **kwargs) -> Order:
    return order_place(
        service=service, link=link(number), quantity=kwargs.pop("quantity", 100), enqueue=False, **kwargs
    )


def kinds(order: Order) -> list[str]:
    return list(order.events.values_list("kind", flat=True))


def test_an_accepted_order_is_pending_with_the_panels_id_and_the_balance_is_refreshed(followers, sandbox):
    order = place(followers)
    assert order.status == OrderStatus.QUEUED
    assert order.estimated_charge == Decimal("0.09000")

    assert orders_submit(order_ids=[order.pk]) == []

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    sent = SandboxOrder.objects.get()
    assert order.provider_order_id == sent.pk
    assert sent.link == link(1) and sent.quantity == 100
    assert order.submitted_at is not None and order.next_check_at is not None
    assert kinds(order) == [EventKind.CREATED, EventKind.SUBMITTING, EventKind.ACCEPTED]
    sandbox.refresh_from_db()
    assert sandbox.balance == Decimal("1000") - sent.charge


def test_the_same_submission_token_twice_gives_one_order(followers):
    first = place(followers, submission_token="form-123")
    second = place(followers, submission_token="form-123")
    assert first.pk == second.pk
    assert Order.objects.count() == 1


def test_a_claimed_order_is_not_sent_a_second_time(followers):
    order = place(followers)
    assert order_submit(order_id=order.pk).status == OrderStatus.PENDING
    assert order_submit(order_id=order.pk) is None
    assert SandboxOrder.objects.count() == 1


def test_a_timeout_after_the_panel_accepted_is_unconfirmed_and_exactly_one_order_reached_it(
    followers, account, settings
):
    settings.PROVIDER_READ_TIMEOUT = 0.3
    account.fault_mode = "late_accept"
    account.save()

    order = order_submit(order_id=place(followers).pk)

    assert order.status == OrderStatus.UNCONFIRMED
    assert order.needs_attention
    assert "may have processed" in order.last_error
    assert order_submit(order_id=order.pk) is None
    assert orders_sweep()["requeued"] == 0
    wait_for(lambda: answers_in_progress() == 0)  # the late answer, long after the client gave up
    assert SandboxOrder.objects.filter(link=link(1)).count() == 1


def test_a_refused_connection_is_retried_then_rejected_with_the_reason_and_sent_once_per_attempt(followers):
    refused = Provider(name="Refused", api_url="http://127.0.0.1:1/api/v2")
    refused.set_api_key("0123456789abcdef")
    refused.save()
    followers.provider = refused
    followers.save()
    order = place(followers)
    slept = []

    order = order_submit_now(order=order, sleep=slept.append)

    assert order.status == OrderStatus.REJECTED
    assert order.submit_attempts == 3
    assert len(slept) == 2
    assert order.last_error.startswith("Not sent after 3 attempts: add: could not reach the panel")
    assert kinds(order).count(EventKind.RETRY) == 2
    assert order.provider_order_id is None


def test_an_html_503_page_after_sending_is_unconfirmed_with_a_readable_message(followers, account):
    account.fault_mode = "html_503"
    account.save()

    order = order_submit(order_id=place(followers).pk)

    assert order.status == OrderStatus.UNCONFIRMED
    assert "HTTP 503" in order.last_error
    assert "Service Temporarily Unavailable" in order.last_error
    assert order.events.last().message == order.last_error


def test_the_panels_not_enough_funds_answer_rejects_the_order_with_its_sentence(followers, account):
    account.balance = Decimal("0.01")
    account.save()

    order = order_submit(order_id=place(followers).pk)

    assert order.status == OrderStatus.REJECTED
    assert order.last_error == "Not enough funds on balance"
    assert order.events.last().message == "Not enough funds on balance"


def test_a_worker_killed_between_claim_and_answer_leaves_an_order_the_sweeper_makes_unconfirmed(followers):
    order = place(followers)
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.SUBMITTING, status_changed_at=order.created_at.replace(year=2020)
    )

    assert orders_sweep() == {"unconfirmed": 1, "requeued": 0, "released": 0}

    order.refresh_from_db()
    assert order.status == OrderStatus.UNCONFIRMED
    assert order_submit(order_id=order.pk) is None
    assert SandboxOrder.objects.count() == 0


def test_a_person_resolves_an_unconfirmed_order_as_placed_and_tracking_starts(followers, admin_user):
    order = place(followers)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNCONFIRMED)
    order.refresh_from_db()

    order_resolve(order=order, placed=True, provider_order_id=4242, user=admin_user, note="seen on the panel")

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.provider_order_id == 4242 and order.next_check_at is not None
    event = order.events.last()
    assert (event.kind, event.user, event.from_status) == (EventKind.RESOLVED, admin_user, "unconfirmed")
    assert event.message == "Placed: provider order #4242. seen on the panel"


def test_a_person_resolves_an_unconfirmed_order_as_not_placed(followers, admin_user):
    order = place(followers)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNCONFIRMED)
    order.refresh_from_db()

    order_resolve(order=order, placed=False, user=admin_user)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.REJECTED
    assert order.events.last().message == "Not placed."


def test_no_retry_is_scheduled_beyond_the_broker_visibility_timeout(settings):
    settings.ORDERS_SUBMIT_BACKOFF_SECONDS = 600
    assert submit_backoff(20) == max_countdown() < 3600


class TestValidation:
    def test_a_link_for_another_platform_is_refused_with_a_clear_message(self, followers):
        with pytest.raises(OrderInvalid) as error:
            order_place(service=followers, link="https://youtube.com/watch?v=1", quantity=100)
        assert error.value.errors == {
            "link": "This is not an Instagram link: expected a link on instagram.com, got youtube.com."
        }

    def test_a_quantity_outside_the_services_limits_is_refused(self, followers):
        with pytest.raises(OrderInvalid) as error:
            order_place(service=followers, link=link(), quantity=5)
        assert error.value.errors == {"quantity": "This service takes at least 10; the quantity: 5."}

    def test_the_types_required_fields_are_checked_by_the_clients_rules(self, catalog):
        mentions = catalog("Mentions User Followers")
        with pytest.raises(OrderInvalid) as error:
            order_place(service=mentions, link=link(), quantity=mentions.min_quantity)
        assert error.value.errors == {"username": "This field is required."}

    def test_an_inactive_service_is_refused(self, followers):
        followers.active = False
        followers.save()
        with pytest.raises(OrderInvalid, match="no longer offers"):
            order_place(service=followers, link=link(), quantity=100)

    def test_the_last_known_balance_must_cover_the_estimate(self, followers, sandbox):
        sandbox.balance = Decimal("12.40")
        sandbox.save()
        followers.rate = Decimal("1.50")
        followers.save()
        with pytest.raises(OrderInvalid) as error:
            order_place(service=followers, link=link(), quantity=10_000)
        assert error.value.errors == {"__all__": "Not enough funds: balance $12.40, this order costs $15.00"}

    def test_queued_orders_count_against_the_balance(self, followers, sandbox):
        sandbox.balance = Decimal("0.10")
        sandbox.save()
        place(followers, 1)
        with pytest.raises(OrderInvalid, match=r"balance \$0.01, this order costs \$0.09"):
            place(followers, 2)
