"""Shared pieces of the production tests: a distinctive API key and where it must never appear."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from jappanel.logging import ContextFilter, JsonFormatter, PlainFormatter
from providers.models import Provider

API_URL = "https://panel.example/api/v2"
# Long and unusual, so that finding it anywhere can only mean a leak.
API_KEY = "jpk-live-7f3a9c1e5b2d8f4a6c0e9b7d5f3a1c8e"


@pytest.fixture
def provider(db) -> Provider:
    """The only provider: JAP at a panel that `responses` stands in for."""
    Provider.objects.all().delete()
    provider = Provider(name="JAP", api_url=API_URL)
    provider.set_api_key(API_KEY)
    provider.save()
    return provider


def formatted_logs(records: list[logging.LogRecord]) -> str:
    """Every record as both formatters write it, tracebacks included."""
    context, plain, structured = ContextFilter(), PlainFormatter(), JsonFormatter()
    lines = []
    for record in records:
        context.filter(record)
        lines += [plain.format(record), structured.format(record)]
    return "\n".join(lines)


def database_text() -> str:
    """Every row of every table, as text: the whole database is searched, not one column."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


@pytest.fixture
def published_tasks() -> Iterator[list[str]]:
    """The body and headers of every Celery message published during the test."""
    from celery import signals

    published: list[str] = []

    def record(body: object = None, headers: object = None, **kwargs: object) -> None:
        published.append(repr((body, headers)))

    signals.before_task_publish.connect(record, weak=False, dispatch_uid="tests_published_tasks")
    yield published
    signals.before_task_publish.disconnect(dispatch_uid="tests_published_tasks")


def assert_nowhere(text: str, where: str, secret: str = API_KEY) -> None:
    assert secret not in text, f"the API key appears in {where}"
    # A fragment long enough to identify it counts too (for instance a key cut in a snippet).
    assert secret[-16:] not in text, f"part of the API key appears in {where}"


Check = Callable[[str, str], None]
