"""Fixtures shared by the whole suite: Celery isolation, a real worker, and headless Chromium."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from jappanel.celery import app as celery_app

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
def _private_celery_queue() -> Iterator[str]:
    """Each test process sends and consumes on a queue of its own.

    xdist processes share one broker (Redis in CI); without this, one process's worker would
    take another process's tasks, and messages left over from an earlier run would be replayed.
    """
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    queue = f"jappanel-test-{worker_id}-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    yield queue
    celery_app.conf.task_default_queue = previous


@pytest.fixture
def celery_worker(transactional_db, _private_celery_queue: str):
    """A real Celery worker (in a thread) consuming the configured broker: Redis or file system."""
    from celery.contrib.testing.worker import start_worker

    # Starting a worker reconfigures the root logger (level ERROR, its own handlers); put it
    # back afterwards, or later tests in this process would capture no log records.
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        queues=[_private_celery_queue],
        perform_ping_check=False,
        shutdown_timeout=10,
    ) as worker:
        yield worker
    root.setLevel(saved_level)
    root.handlers[:] = saved_handlers


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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def logged_in_page(page, admin_user):
    page.goto("/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return page
