"""Fixtures shared by the whole suite: Celery isolation, a real worker, headless Chromium, the
sandbox as the orders' provider, personas. Test data builders are in tests/factories.py."""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from celery import signals
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import clear_url_caches
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

import jappanel.urls
from catalog.models import Service
from jappanel.celery import app as celery_app
from orders.models import Order, OrderStatus
from providers.models import Provider
from providers.sandbox import clock as sandbox_clock
from providers.sandbox.models import Account
from providers.sandbox.models import Service as SandboxService
from providers.sandbox.services import order_add, sandbox_account_get, service_catalog_ensure
from tests.browsing import sign_in
from tests.factories import PERSONAS, ROLE_OF, catalog_row_of, link, person
from tests.waiting import PATIENCE, wait_for

WATCH_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""

if TYPE_CHECKING:
    from celery.worker import WorkController
    from playwright.sync_api import Page

# Property and fuzz tests: the same examples on every run (CI never fails by chance, and a
# failure reproduces), no example database written into the tree, and no deadline, so that a
# slow or busy machine never fails them; each test bounds its own number of examples.
hypothesis_settings.register_profile(
    "jappanel",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile("jappanel")

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True, scope="session")
def _private_celery_queues() -> Iterator[dict[str, str]]:
    """Each test process sends and consumes on queues of its own: {configured name: private name}.

    xdist processes share one broker (Redis in CI); without this, one process's worker would
    take another process's tasks, and messages left over from an earlier run would be replayed.
    Every queue gets the per-run prefix: the default one and each one tasks are routed to.
    """
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefix = f"jappanel-test-{worker_id}-{uuid.uuid4().hex[:8]}"
    conf = celery_app.conf
    default, routes = conf.task_default_queue, conf.task_routes
    names = {default, *(route["queue"] for route in routes.values())}
    private = {name: f"{prefix}-{name}" for name in sorted(names)}
    conf.task_default_queue = private[default]
    conf.task_routes = {task: {**route, "queue": private[route["queue"]]} for task, route in routes.items()}
    published = threading.Event()
    signals.before_task_publish.connect(
        lambda **kwargs: published.set(), weak=False, dispatch_uid="tests_published"
    )
    yield private
    signals.before_task_publish.disconnect(dispatch_uid="tests_published")
    if published.is_set():
        purge(private.values())  # nothing is left on the broker (a run that sent nothing never connects)
    conf.task_default_queue, conf.task_routes = default, routes


def purge(queues: Iterable[str]) -> None:
    """Drop every message waiting in `queues`."""
    with celery_app.connection_for_write() as connection:
        for queue in queues:
            connection.default_channel.queue_purge(queue)


@contextmanager
def running_worker(queues: list[str]) -> Iterator[WorkController]:
    """A real Celery worker (in a thread) consuming `queues` on the configured broker.

    It starts on empty queues: what earlier tests of this process sent without a worker running
    (an order placed in a page test, say) is dropped, not run in the middle of this test.
    """
    from celery.contrib.testing.worker import start_worker

    purge(queues)

    # Starting a worker reconfigures the root logger (level ERROR, its own handlers); put it
    # back afterwards, or later tests in this process would capture no log records.
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        queues=queues,
        perform_ping_check=False,
        shutdown_timeout=10,
    ) as worker:
        yield worker
    root.setLevel(saved_level)
    root.handlers[:] = saved_handlers


@pytest.fixture
def celery_worker(transactional_db, _private_celery_queues: dict[str, str]) -> Iterator[WorkController]:
    """A real worker consuming every queue: Redis or the file-system broker."""
    with running_worker(list(_private_celery_queues.values())) as worker:
        yield worker


@pytest.fixture
def interactive_worker(transactional_db, _private_celery_queues: dict[str, str]) -> Iterator[WorkController]:
    """A real worker consuming the interactive queue only, as the dedicated one in production."""
    with running_worker([_private_celery_queues["interactive"]]) as worker:
        yield worker


_markers: dict[str, threading.Event] = {}


@celery_app.task(name="tests.marker")
def _marker(token: str) -> None:
    _markers.pop(token).set()


@pytest.fixture
def drain(celery_worker, _private_celery_queues: dict[str, str]) -> Callable[[], None]:
    """`drain()` returns once the worker has finished every task sent before the call.

    A marker task goes to the end of each queue. Queues are first in, first out, so when every
    marker has run and the worker holds no other task, all that was sent before has finished.
    """
    from celery.worker import state

    def wait() -> None:
        ran = []
        for queue in _private_celery_queues.values():
            token = uuid.uuid4().hex
            ran.append(_markers.setdefault(token, threading.Event()))
            _marker.apply_async((token,), queue=queue)
        wait_for(
            lambda: (
                all(event.is_set() for event in ran)
                and not state.active_requests
                and not state.reserved_requests
            )
        )

    return wait


@pytest.fixture
def clock() -> Iterator[sandbox_clock.FrozenClock]:
    """The sandbox's clock, frozen: the sandbox's orders and refills move only when a test
    calls `clock.advance(...)`, in every thread (server, worker) at once."""
    with sandbox_clock.frozen(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as frozen:
        yield frozen


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "correct-horse-battery")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        message = "headless Chromium not found (install Debian's chromium package)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; REQUIRE_BROWSER=1 makes that an error")
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait for what the page shows; the bound only turns a hang into a failure.
    expect.set_options(timeout=PATIENCE * 1000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PATIENCE * 1000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def logged_in_page(page, admin_user):
    return sign_in(page, "admin", "correct-horse-battery")


@pytest.fixture
def signed_in(browser, live_server) -> Iterator[Callable[..., Page]]:
    """`signed_in("buyer")`: a person signed in, in a browser context of their own (own cookies,
    own session); keyword arguments go to the context (`viewport=…` for a phone)."""
    contexts = []

    def open_as(username: str, **context_options: object) -> Page:
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(PATIENCE * 1000)
        contexts.append(context)
        return sign_in(context.new_page(), username)

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def order_settings(settings) -> None:
    """Ordering from the sandbox: a balance, no faults, fast retries (autouse in the order suites)."""
    settings.SANDBOX_START_BALANCE = Decimal("1000")
    settings.SANDBOX_FAULT_MODE = "none"
    settings.SANDBOX_TIME_SCALE = 60.0
    settings.PROVIDER_CONNECT_TIMEOUT = 1.0
    # An in-process sandbox answer of 100 orders can take seconds on a busy 2-core machine: a
    # test that wants a timeout sets its own.
    settings.PROVIDER_READ_TIMEOUT = 60.0
    settings.ORDERS_SUBMIT_ATTEMPTS = 3
    settings.ORDERS_SUBMIT_BACKOFF_SECONDS = 0.0


@pytest.fixture
def sandbox(transactional_db, clock) -> Provider:
    """The Sandbox provider that migrate (and every flush) creates."""
    return Provider.objects.get(name="Sandbox")


@pytest.fixture
def account(sandbox) -> Account:
    return sandbox_account_get()


@pytest.fixture
def catalog(sandbox) -> Callable[..., Service]:
    """`catalog("Default", refill=True)`: the first such sandbox service, as our catalog row."""
    service_catalog_ensure()

    def copy(service_type: str = "Default", provider: Provider | None = None, **filters: object) -> Service:
        spec = SandboxService.objects.filter(type=service_type, active=True, **filters).order_by("id").first()
        assert spec is not None, (service_type, filters)
        return catalog_row_of(spec, provider or sandbox)

    return copy


@pytest.fixture
def followers(catalog) -> Service:
    """Instagram followers with refill and cancel: the everyday order."""
    return catalog("Default", category__startswith="Instagram Followers", refill=True, cancel=True)


@pytest.fixture
def open_orders(account, sandbox) -> Callable[..., list[Order]]:
    """`open_orders(service, 250)`: orders the sandbox has taken, tracked by us and due now."""

    def make(service: Service, count: int, *, first: int = 1, age: timedelta = timedelta(0)) -> list[Order]:
        now = timezone.now()
        orders = []
        for number in range(first, first + count):
            placed = order_add(
                account=account,
                params={"service": str(service.service_id), "link": link(number), "quantity": "100"},
            )
            orders.append(
                Order(
                    provider=sandbox,
                    service=service,
                    link=link(number),
                    quantity=100,
                    estimated_charge=service.cost(100),
                    status=OrderStatus.PENDING,
                    provider_status="Pending",
                    provider_order_id=placed.pk,
                    submission_token=f"open-{number}",
                    created_at=now - age,
                    submitted_at=now - age,
                    next_check_at=now,
                )
            )
        return Order.objects.bulk_create(orders)

    return make


@pytest.fixture
def people(db) -> dict[str, object]:
    """One user per persona (anonymous is None)."""
    users: dict[str, object] = {name: person(name, ROLE_OF.get(name)) for name in PERSONAS[:-1]}
    users["anonymous"] = None
    return users


@pytest.fixture
def manager(db):
    return person("boss", "Manager")


@pytest.fixture
def watched(logged_in_page):
    """The signed-in page, recording CSP violations and console lines (see assert_no_violation)."""
    page = logged_in_page
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.context.add_init_script(WATCH_VIOLATIONS)
    page.console_messages = console
    return page


def reload_urls() -> None:
    importlib.reload(jappanel.urls)
    clear_url_caches()


@pytest.fixture
def email_configured(settings, mailoutbox):
    """An email server is configured (EMAIL_URL): the URLs are built again with it."""
    settings.EMAIL_ENABLED = True
    reload_urls()
    yield
    settings.EMAIL_ENABLED = False
    reload_urls()


@pytest.fixture
def back_to_the_latest():
    """Whatever a test migrated to, the database ends at the latest migrations, for the tests after it."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
