"""The notifications app's data migration, on a database holding events the old fan-out left."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("back_to_the_latest")]
BEFORE = ("notifications", "0002_endpoint_secrets_encrypted")
AFTER = ("notifications", "0003_events_told_when_recorded")


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
