"""The sandbox as fast and as strict as a real panel: an answer delay and a per-minute limit."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpResponse

from providers.sandbox import clock
from providers.wire import json_response

RATE_LIMIT_SENTENCE = "Too many requests, please slow down"
_WINDOW = timedelta(minutes=1)
_calls: defaultdict[str, deque[datetime]] = defaultdict(deque)
_refused: defaultdict[str, int] = defaultdict(int)
_lock = threading.Lock()


def rate_limited(key: str) -> HttpResponse | None:
    """A 429 when `key` made SANDBOX_RATE_LIMIT_PER_MINUTE calls in the last minute (by the
    sandbox's clock, in this process), else None and the call is counted."""
    limit = settings.SANDBOX_RATE_LIMIT_PER_MINUTE
    if not limit:
        return None
    now = clock.now()
    with _lock:
        calls = _calls[key]
        while calls and calls[0] <= now - _WINDOW:
            calls.popleft()
        if len(calls) >= limit:
            _refused[key] += 1
            wait = max(int((calls[0] + _WINDOW - now).total_seconds()) + 1, 1)
            response = json_response({"error": RATE_LIMIT_SENTENCE})
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        calls.append(now)
    return None


def refused_count(key: str) -> int:
    """How many calls of `key` were refused for the limit (tests look)."""
    return _refused[key]


def limits_reset() -> None:
    """Forget every call counted (a test starts afresh)."""
    with _lock:
        _calls.clear()
        _refused.clear()


def answer_delay(arrived: float) -> None:
    """Hold the answer until SANDBOX_LATENCY_MS after the call arrived (processing included)."""
    left = settings.SANDBOX_LATENCY_MS / 1000 - (time.monotonic() - arrived)
    if left > 0:
        time.sleep(left)
