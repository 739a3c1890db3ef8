"""One order, the way a person places it: the order form's POST, then its `submit_orders` task.

The form is posted through Django's test client (middleware, session, permission checks,
validation, budgets, the submission record, the audit entry, the enqueue); the task then sends
the order to the sandbox answering in process (`sandbox://`), reads the balance and records
the answer. Each figure is the median of several orders on fresh links.

Issue 10 asked that nothing in this path get slower. The goals are the figures of 13bbffc (before
the trust work) measured the same way on the same quiet machine (medians of three runs), plus 10%:
form POST 18.3 ms, 17 queries; submit task 46.5 ms, 9 queries. The POST now records the
submission (one insert, one update) that makes the form's idempotency whole.
"""

from __future__ import annotations

import re
import statistics
import time
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.common import bench_user, line
from bench.orders import followers, reset, sandbox
from orders.models import Order
from orders.tasks import submit_orders
from providers.models import Provider
from providers.sandbox.services import service_catalog_ensure

ORDERS = 30
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def run() -> None:
    reset()
    provider = sandbox()
    service_catalog_ensure()
    service = followers(provider)
    Provider.objects.filter(pk=provider.pk).update(balance=Decimal("100000"))
    client = Client()
    client.force_login(bench_user("Manager"))
    url = reverse("orders:order_create")
    posts: list[tuple[float, int]] = []
    submits: list[tuple[float, int]] = []
    for n in range(ORDERS + 1):  # the first warms caches and is not counted
        page = client.get(url, {"service": service.pk}).content.decode()
        data = {
            **dict(HIDDEN.findall(page)),
            "service": service.pk,
            "link": f"https://instagram.com/p/single{n}",
            "quantity": 1000,
        }
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            answer = client.post(url, data)
            seconds = time.perf_counter() - started
        assert answer.status_code in (200, 302), answer.status_code
        order = Order.objects.get(link=data["link"])
        if n:
            posts.append((seconds, len(queries)))
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            submit_orders.apply(args=([order.pk],))
            seconds = time.perf_counter() - started
        order.refresh_from_db()
        assert order.provider_order_id, (order.status, order.last_error)
        if n:
            submits.append((seconds, len(queries)))
    reset()
    for label, figures, goal in (
        ("one order: form POST (validated, recorded, queued)", posts, 0.0183 * 1.1),
        ("one order: submit task (sent to the sandbox, answer recorded)", submits, 0.0465 * 1.1),
    ):
        ms = statistics.median(seconds for seconds, _ in figures) * 1000
        queries = statistics.median(count for _, count in figures)
        line(f"{label}: median", f"{ms:.1f} ms", f"<= {goal * 1000:.1f} ms (before +10%)", ms <= goal * 1000)
        line(f"{label}: queries", f"{queries:.0f}", "(informative)", True)
