"""The team API: `status` for 100 orders, and `add` up to the moment it hands the order over.

Each request goes through the whole Django stack with the test client, as a JAP client sends it
(form-encoded POST to /api/v2, key and all). `add` never calls the panel itself: it saves the
order and queues it for the worker after commit, so the whole request is "before the provider
call". Its tasks go to a queue of the benchmark's own, purged at the end, so that no worker of
an install sharing the broker ever sees them. The figure is the median of 20 requests.
"""

from __future__ import annotations

import statistics
import time
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.models import ApiKey, ApiOrder
from api.services import api_key_create
from bench.common import bench_user, line, make_provider
from catalog.models import Service
from jappanel.celery import app as celery_app
from orders.models import Order, OrderStatus
from providers.models import Provider

ORDERS = 100
RUNS = 20
STATUS_GOAL_MS = 50
ADD_GOAL_MS = 30


def _service() -> Service:
    provider = Provider.objects.filter(name="BenchAPI").first() or make_provider("BenchAPI")
    service, _ = Service.objects.update_or_create(
        provider=provider,
        service_id=1,
        defaults={
            "name": "Instagram Followers [bench]",
            "category": "Instagram Followers",
            "rate": Decimal("0.9"),
            "min_quantity": 10,
            "max_quantity": 100_000,
        },
    )
    return service


def _median_ms(client: Client, payloads: list[dict[str, object]]) -> tuple[float, int]:
    """The median milliseconds of the requests, and the queries of the last one."""
    times = []
    for payload in payloads:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.post("/api/v2", payload)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200 and "error" not in response.json(), response.content
    return statistics.median(times) * 1000, len(queries)


def _clean(user: object) -> None:
    """No order, key or API order of the benchmark's person (left by an interrupted run)."""
    ApiOrder.objects.filter(key__user=user).delete()
    Order.objects.filter(user=user).delete()
    ApiKey.objects.filter(user=user).delete()


def run() -> None:
    conf = celery_app.conf
    saved = conf.task_default_queue, conf.task_routes, settings.API_RATE_LIMIT_PER_MINUTE
    queue = f"bench-api-{uuid.uuid4().hex[:8]}"
    conf.task_default_queue = queue
    conf.task_routes = {task: {**route, "queue": queue} for task, route in conf.task_routes.items()}
    # The benchmark makes more requests a minute than a key may.
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    user = bench_user("Buyer")
    _clean(user)
    made = api_key_create(user=user, name="bench")
    service = _service()
    client = Client()
    try:
        adds = [
            {
                "key": made.token,
                "action": "add",
                "service": service.pk,
                "link": f"https://instagram.com/p/bench-api-{uuid.uuid4().hex}",
                "quantity": 100,
            }
            for _ in range(RUNS)
        ]
        add_ms, add_queries = _median_ms(client, adds)
        line(f"api add: one order through the order form, queued ({RUNS} runs, {add_queries} queries)",
             f"{add_ms:.1f} ms", f"< {ADD_GOAL_MS} ms", add_ms < ADD_GOAL_MS)  # fmt: skip
        ids = list(ApiOrder.objects.filter(key=made.key).values_list("order_id", flat=True))
        extra = Order.objects.bulk_create(
            Order(
                provider=service.provider,
                service=service,
                user=user,
                link=f"https://instagram.com/p/bench-status-{n}",
                quantity=100,
                estimated_charge=Decimal("0.09"),
                status=OrderStatus.IN_PROGRESS,
                start_count=1000,
                remains=40,
            )
            for n in range(ORDERS - len(ids))
        )
        orders = ",".join(str(pk) for pk in [*ids, *(order.pk for order in extra)])
        payloads = [{"key": made.token, "action": "status", "orders": orders}] * RUNS
        status_ms, status_queries = _median_ms(client, payloads)
        line(f"api status: {ORDERS} orders in one call ({RUNS} runs, {status_queries} queries)",
             f"{status_ms:.1f} ms", f"< {STATUS_GOAL_MS} ms", status_ms < STATUS_GOAL_MS)  # fmt: skip
    finally:
        _clean(user)
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
        conf.task_default_queue, conf.task_routes, settings.API_RATE_LIMIT_PER_MINUTE = saved
