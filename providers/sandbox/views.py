from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from providers.sandbox.faults import fault_delay_after, fault_delay_before, fault_mode, fault_page
from providers.sandbox.limits import answer_delay, rate_limited
from providers.sandbox.protocol import SandboxBackend
from providers.sandbox.services import account_authenticate
from providers.wire import api_answer, json_response, request_params

# Calls being answered, in any thread. A late answer goes on after its client gave up; a test
# waits until none is left before it looks at what the sandbox holds or flushes the database.
_answering = 0
_answering_lock = threading.Lock()


def answers_in_progress() -> int:
    """How many API calls the sandbox is answering right now (late answers included)."""
    return _answering


@contextmanager
def _answering_one() -> Iterator[None]:
    global _answering
    with _answering_lock:
        _answering += 1
    try:
        yield
    finally:
        with _answering_lock:
            _answering -= 1


@csrf_exempt
@login_not_required
def api_v2(request: HttpRequest) -> HttpResponse:
    """JAP API v2: one endpoint, every action; callable directly with a RequestFactory request."""
    arrived = time.monotonic()
    with _answering_one():
        response = _answer(request)
    answer_delay(arrived)
    return response


def _answer(request: HttpRequest) -> HttpResponse:
    params = request_params(request)
    refused = rate_limited(params.get("key", "").strip())
    if refused is not None:
        return refused
    account = account_authenticate(key=params.get("key", "").strip())
    mode = fault_mode(account)
    page = fault_page(mode)
    if page is not None:
        return page
    fault_delay_before(mode)
    # One transaction per answer: a status of 100 orders moves up to 100 of them, and one
    # commit each would make the sandbox, not the caller, what a benchmark measures.
    with transaction.atomic():
        payload = api_answer(backend=SandboxBackend(account) if account else None, params=params)
    fault_delay_after(mode, action=params.get("action", "").strip(), payload=payload)
    return json_response(payload)
