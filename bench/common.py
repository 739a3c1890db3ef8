"""Helpers shared by the benchmarks: measuring, reporting, stand-in panels."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.models import Provider


def line(label: str, value: str, goal: str, ok: bool) -> None:
    """One figure beside its goal."""
    print(f"{'PASS' if ok else 'MISS'}  {label:<66} {value:>14}   goal {goal}")


def measure(action: Callable[[], object], table: str = "") -> tuple[float, int, int]:
    """Seconds, queries, and queries that wrote to `table`."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
    writes = sum(
        1
        for q in queries
        if table and table in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    )
    return seconds, len(queries), writes


def make_provider(name: str) -> Provider:
    provider = Provider(name=name, api_url=f"https://{name.lower()}.bench.invalid/api/v2")
    provider.set_api_key("bench-key-0123456789")
    provider.save()
    return provider


@contextmanager
def serving(provider: Provider, body: str) -> Iterator[None]:
    """The provider's panel answers every call with `body` (the only stand-in in the benchmarks)."""
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, provider.api_url, body=body, content_type="application/json")
        yield


def bench_user(role: str = "Manager") -> Any:
    """A person with a role (not a superuser), so the pages pay for their permission checks."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=f"bench-{role.lower()}")
    user.groups.add(Group.objects.get(name=role))
    return user
