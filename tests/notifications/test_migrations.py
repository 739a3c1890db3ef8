"""The notifications app's data migrations: events the old fan-out left, and deliveries of one event."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("back_to_the_latest")]
BEFORE = ("notifications", "0002_endpoint_secrets_encrypted")
AFTER = ("notifications", "0003_events_told_when_recorded")
BATCHED = ("notifications", "0004_lighter_copies_batched_deliveries")


def migrate(target: tuple[str, str]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "notifications"]
    return executor.loader.project_state([target, *others]).apps


def test_events_waiting_for_the_old_fan_out_reach_their_people_and_endpoints(db):
    buyer, approver, asker = (
        person("buyer", "Buyer"),
        person("approver", "Approver"),
        person("asker", "Approver"),
    )
    apps = migrate(BEFORE)
    Event, Endpoint = apps.get_model("notifications", "Event"), apps.get_model("notifications", "Endpoint")
    hook = Endpoint.objects.create(name="Tool", type="webhook", url_encrypted="token", kinds=[])
    Endpoint.objects.create(
        name="Only budgets", type="webhook", url_encrypted="token", kinds=["budget_reached"]
    )
    Event.objects.create(
        kind="order_partial", key="told", title="Told", audience={"people": [buyer.pk]}, fanned_out=True
    )
    Event.objects.create(kind="order_partial", key="partial", title="P", audience={"people": [buyer.pk]})
    Event.objects.create(
        kind="approval_requested",
        key="ask",
        title="A",
        audience={"action": "approve_order", "exclude": [asker.pk]},
    )

    apps = migrate(AFTER)

    Notification, Delivery = (
        apps.get_model("notifications", "Notification"),
        apps.get_model("notifications", "Delivery"),
    )
    assert set(Notification.objects.values_list("event__key", "user_id")) == {
        ("partial", buyer.pk),
        ("ask", approver.pk),
    }
    assert set(Delivery.objects.values_list("event__key", "endpoint_id")) == {
        ("partial", hook.pk),
        ("ask", hook.pk),
    }


def test_a_delivery_of_one_event_becomes_a_delivery_carrying_it_and_back(db):
    buyer = person("buyer", "Buyer")
    apps = migrate(AFTER)
    Event, Endpoint = apps.get_model("notifications", "Event"), apps.get_model("notifications", "Endpoint")
    Delivery, Notification = (
        apps.get_model("notifications", "Delivery"),
        apps.get_model("notifications", "Notification"),
    )
    hook = Endpoint.objects.create(name="Tool", type="webhook", url_encrypted="token", kinds=[])
    first, second = (Event.objects.create(kind="order_partial", key=key, title=key) for key in ("one", "two"))
    sent = Delivery.objects.create(endpoint=hook, event=first, status="delivered", response_code=200)
    waiting = Delivery.objects.create(endpoint=hook, event=second)
    Notification.objects.create(event=first, user_id=buyer.pk)

    apps = migrate(BATCHED)

    Delivery = apps.get_model("notifications", "Delivery")
    assert sorted(Delivery.objects.values_list("event_ids", flat=True)) == [[first.pk], [second.pk]]
    assert Delivery.objects.get(pk=sent.pk).response_code == 200
    assert apps.get_model("notifications", "Notification").objects.get().user_id == buyer.pk
    Delivery.objects.filter(pk=sent.pk).update(event_ids=[first.pk, second.pk])

    apps = migrate(AFTER)

    Delivery = apps.get_model("notifications", "Delivery")
    assert sorted(Delivery.objects.values_list("pk", "event_id")) == sorted(
        [(sent.pk, first.pk), (waiting.pk, second.pk)]
    )
