"""Data migrations of the orders app, run on a database holding orders from before them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("back_to_the_latest")]
BEFORE = ("orders", "0007_submissions")
AFTER = ("orders", "0008_order_started_at_from_first_progress")
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def migrate(target: tuple[str, str]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    # The orders app as of `target`, beside the providers and catalog as they are now (not
    # rolled back): the rows made here must fit the tables as the database has them.
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] in ("providers", "catalog")]
    return executor.loader.project_state([target, *others]).apps


def test_orders_followed_before_started_at_existed_start_at_their_first_progress_event(db):
    apps = migrate(BEFORE)
    Provider, Service = apps.get_model("providers", "Provider"), apps.get_model("catalog", "Service")
    Order, OrderEvent = apps.get_model("orders", "Order"), apps.get_model("orders", "OrderEvent")
    provider = Provider.objects.create(name="Old panel", api_url="https://old.example/api/v2")
    service = Service.objects.create(
        provider=provider, service_id=1, name="x", rate=1, min_quantity=1, max_quantity=9
    )

    def order(code: str, *steps: tuple[str, int]) -> None:
        status = steps[-1][0] if steps else "pending"
        made = Order.objects.create(
            code=code,
            provider=provider,
            service=service,
            estimated_charge=1,
            status=status,
            submission_token=code,
        )
        for status, minutes in steps:
            OrderEvent.objects.create(
                order=made, kind="status", to_status=status, at=AT + timedelta(minutes=minutes)
            )

    order("STARTED", ("in_progress", 5), ("completed", 50))
    order("DONEATONCE", ("completed", 30))
    order("STILLWAITS")

    apps = migrate(AFTER)

    started = dict(apps.get_model("orders", "Order").objects.values_list("code", "started_at"))
    assert started == {
        "STARTED": AT + timedelta(minutes=5),
        "DONEATONCE": AT + timedelta(minutes=30),
        "STILLWAITS": None,
    }


def test_services_and_orders_from_before_refill_guarantees_get_their_periods_and_windows(db):
    before = [
        ("catalog", "0007_catalog_change_events_and_visits"),
        ("orders", "0008_order_started_at_from_first_progress"),
    ]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(before)
    providers = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "providers"]
    apps = executor.loader.project_state([*before, *providers]).apps
    Provider, Service = apps.get_model("providers", "Provider"), apps.get_model("catalog", "Service")
    Order = apps.get_model("orders", "Order")
    provider = Provider.objects.create(name="Old panel", api_url="https://old.example/api/v2")

    def service(number: int, name: str, refill: bool):
        return Service.objects.create(
            provider=provider,
            service_id=number,
            name=name,
            refill=refill,
            rate=1,
            min_quantity=1,
            max_quantity=9,
        )

    thirty = service(1, "Followers [Refill: 30D]", True)
    none = service(2, "Followers [No Refill]", True)
    for code, svc, status, finished in [
        ("DONE30", thirty, "completed", AT),
        ("OPEN30", thirty, "in_progress", None),
        ("DONENONE", none, "completed", AT),
    ]:
        Order.objects.create(
            code=code,
            provider=provider,
            service=svc,
            estimated_charge=1,
            status=status,
            submission_token=code,
            finished_at=finished,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from catalog.models import Service as NowService
    from orders.models import Order as NowOrder

    assert dict(NowService.objects.values_list("service_id", "refill_days")) == {1: 30, 2: 0}
    windows = dict(NowOrder.objects.values_list("code", "refill_until"))
    assert windows == {"DONE30": AT + timedelta(days=30), "OPEN30": None, "DONENONE": None}
