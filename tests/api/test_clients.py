"""Third-party JAP client libraries from PyPI, unchanged, against /api/v2 on a live server.

The panel behind the team is the sandbox over HTTP (a provider of real money, so that the
person's budget counts the orders); a real worker sends what the API queued. Of the PyPI
packages tried, `optsmm` hard-codes its panel's URL and its cancel expects a shape no JAP panel
sends, and `pyliphemus` hard-codes bigsmm.ru in every call: neither can be pointed at us.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import safesmm
import smm as babismm
import smmpy
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from orders.models import Order, OrderStatus, Refill
from orders.services.spend import budget_spent
from orders.services.tracking import orders_poll_round
from tests.factories import link
from tests.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# babismm and smmpy share one interface (both ports of the same PHP example).
SAME_INTERFACE = {"babismm": babismm.SMM, "smmpy": smmpy.smm}


@pytest.fixture
def panel_url(live_server) -> str:
    return live_server.url + "/sandbox/api/v2"


@pytest.fixture
def api_url(live_server) -> str:
    return live_server.url + "/api/v2"


@pytest.fixture
def buyer(people, budget_of):
    budget_of(people["buyer"], "100")
    return people["buyer"]


def sent(*ids: int) -> None:
    """Wait until the worker has sent the orders, then make them due for a status check."""
    wait_for(lambda: Order.objects.filter(pk__in=ids, status=OrderStatus.PENDING).count() == len(ids))
    Order.objects.filter(pk__in=ids).update(next_check_at=timezone.now() - timedelta(seconds=1))


def checked(*ids: int) -> None:
    Order.objects.filter(pk__in=ids).update(next_check_at=timezone.now() - timedelta(seconds=1))
    orders_poll_round(ids=list(ids))


@pytest.mark.parametrize("library", sorted(SAME_INTERFACE))
def test_a_jap_client_library_places_checks_refills_and_cancels_through_the_team_api(
    library, api_url, celery_worker, clock, buyer, key_of, panel_followers
):
    api = SAME_INTERFACE[library](api_url, key_of("buyer").token)

    assert panel_followers.pk in [service["service"] for service in api.get_services()]
    kept = api.add_order(service=panel_followers.pk, link=link(1), quantity=100)["order"]
    dropped = api.add_order(service=panel_followers.pk, link=link(2), quantity=100)["order"]
    sent(kept, dropped)
    assert api.get_status(kept)["status"] == "Pending"

    assert api.cancel_orders([dropped]) == [{"order": dropped, "cancel": 1}]
    clock.advance(simulated=True, days=2)
    checked(kept, dropped)
    statuses = api.get_multi_status([kept, dropped])
    assert (statuses[str(kept)]["status"], statuses[str(dropped)]["status"]) == ("Completed", "Canceled")

    refill = int(api.create_refill(kept)["refill"])
    assert Refill.objects.get(pk=refill).order_id == kept
    assert api.get_refill_status(refill)["status"] in ("Pending", "In progress", "Completed")
    assert api.get_multi_refill_status([refill, 0])[1] == {
        "refill": 0,
        "status": {"error": "Refill not found"},
    }
    again = api.create_multi_refill([dropped])
    assert again == [
        {"order": dropped, "refill": {"error": "Only a completed or partial order can be refilled."}}
    ]

    order = Order.objects.get(pk=kept)
    assert (order.user, order.campaign, order.provider.name) == (buyer, None, "Panel")
    money_actions = [AuditAction.ORDER_PLACED, AuditAction.ORDER_CANCEL, AuditAction.ORDER_REFILL]
    entries = AuditEntry.objects.filter(action__in=money_actions)
    assert {entry.action for entry in entries} == set(money_actions)
    assert all(entry.actor == buyer and "Through API key “buyer's script”" in entry.note for entry in entries)
    spent = budget_spent(user=buyer, month=timezone.localdate(), currency="USD")
    assert spent == order.charge > 0
    assert Order.objects.get(pk=dropped).status == OrderStatus.CANCELED
    assert api.get_balance() == {"balance": f"{Decimal(100) - spent:.5f}", "currency": "USD"}


def test_safesmm_places_checks_refills_and_cancels_through_the_team_api(
    api_url, celery_worker, clock, buyer, key_of, panel_followers
):
    api = safesmm.SafeSMM(key_of("buyer").token, api_url=api_url)

    assert panel_followers.pk in [service["service"] for service in api.services()]
    kept = api.add_order(panel_followers.pk, link(1), 100)["order"]
    dropped = api.add_order(panel_followers.pk, link(2), 100)["order"]
    assert api.add_order(panel_followers.pk, link(1), 100)["order"] == kept  # a retry
    sent(kept, dropped)

    assert api.cancel(dropped) == [{"order": dropped, "cancel": 1}]
    clock.advance(simulated=True, days=2)
    checked(kept, dropped)
    assert api.status(kept)["status"] == "Completed"
    assert api.multi_status([dropped])[str(dropped)]["status"] == "Canceled"
    refill = int(api.refill(kept)["refill"])

    assert Refill.objects.get(pk=refill).order.user == buyer
    spent = budget_spent(user=buyer, month=timezone.localdate(), currency="USD")
    assert spent == Order.objects.get(pk=kept).charge > 0
    assert api.balance()["balance"] == f"{Decimal(100) - spent:.5f}"
    with pytest.raises(safesmm.SafeSMMError, match="Invalid API key"):
        safesmm.SafeSMM("jpk_not-a-key", api_url=api_url).balance()
