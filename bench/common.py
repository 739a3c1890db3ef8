"""Helpers shared by the benchmarks: measuring, reporting, stand-in panels."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import responses
from django.db import connection
from django.db.backends.utils import CursorWrapper
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


class DatabaseTime:
    """Queries and their time in every thread of this process but the sandbox's: the polling
    and sending code fans out over threads, each with its own connection, which
    CaptureQueriesContext (one connection) would not see. A COPY (`jappanel.db.bulk_insert`)
    bypasses the cursor wrapper and is counted too."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0
        # The part of `seconds` spent while `attributing()` to a name, by name.
        self.attributed: dict[str, float] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextmanager
    def attributing(self, name: str) -> Iterator[None]:
        """Count the queries this thread makes meanwhile to `name` too."""
        self._local.name = name
        try:
            yield
        finally:
            self._local.name = None

    def _timed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == "sandbox-request":
                return original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - started
                name = getattr(self._local, "name", None)
                with self._lock:
                    self.queries += 1
                    self.seconds += seconds
                    if name:
                        self.attributed[name] = self.attributed.get(name, 0.0) + seconds

        return timed

    @contextmanager
    def measuring(self) -> Iterator[DatabaseTime]:
        from jappanel import db

        execute, copy = CursorWrapper._execute, db._copy
        CursorWrapper._execute, db._copy = self._timed(execute), self._timed(copy)
        try:
            yield self
        finally:
            CursorWrapper._execute, db._copy = execute, copy


class InFlight:
    """Calls answered by the in-process sandbox: how many in all, by action, and at most at once."""

    def __init__(self, view: Callable[[Any], Any]) -> None:
        self.view = view
        self.by_action: dict[str, int] = {}
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        from providers.sandbox.protocol import request_params

        action = request_params(request).get("action", "")
        with self._lock:
            self.by_action[action] = self.by_action.get(action, 0) + 1
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self.view(request)
        finally:
            with self._lock:
                self.now -= 1

    @property
    def total(self) -> int:
        return sum(self.by_action.values())


@contextmanager
def sandbox_counted() -> Iterator[InFlight]:
    """Every call to the in-process sandbox goes through an InFlight counter."""
    from providers.client import sandbox as client_sandbox
    from providers.sandbox.views import api_v2

    counter = InFlight(api_v2)
    original = client_sandbox.sandbox_view
    client_sandbox.sandbox_view = lambda: counter
    try:
        yield counter
    finally:
        client_sandbox.sandbox_view = original
