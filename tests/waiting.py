"""Waiting for work that a real worker, a server thread or a browser does in another thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Every wait in the suite is for a condition the test controls (a task the worker runs, a page
# showing what the database holds, the sandbox's clock moved by the test), never for time to
# pass. This bound only turns a hang into a failure: a slow or loaded machine never reaches it.
PATIENCE = 120.0


def wait_for(condition: Callable[[], T], timeout: float = PATIENCE) -> T:
    """Call `condition` until it returns something truthy, and return that; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"still waiting after {timeout:.0f} s: a hang, not a slow machine")
