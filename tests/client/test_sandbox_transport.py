"""The `sandbox://` transport, with stand-in views: encoding, parsing and timeouts hold in-process."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from providers.client import JapClient, ProviderOutcomeUnknown, ProviderUnreachable, SandboxAdapter
from tests.client.conftest import API_KEY
from tests.waiting import PATIENCE

SANDBOX_URL = "sandbox://local/api/v2"


def sandbox_client(view, *, read_timeout: float = 2) -> JapClient:
    client = JapClient(SANDBOX_URL, API_KEY, read_timeout=read_timeout)
    client.session.mount("sandbox://", SandboxAdapter(view))
    return client


def test_the_view_receives_the_same_form_post_a_panel_would(settings):
    seen: dict[str, object] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen.update(method=request.method, path=request.path, post=request.POST.dict(),
                    agent=request.headers["User-Agent"], content_type=request.content_type)  # fmt: skip
        return JsonResponse({"order": 23501})

    order_id = sandbox_client(view).add(3, link="https://ig/p/1", comments=["good pic", "great photo"])
    assert order_id == 23501
    assert seen == {
        "method": "POST",
        "path": "/sandbox/api/v2",
        "post": {
            "key": API_KEY,
            "action": "add",
            "service": "3",
            "link": "https://ig/p/1",
            "comments": "good pic\ngreat photo",
        },
        "agent": f"jappanel/{settings.VERSION}",
        "content_type": "application/x-www-form-urlencoded",
    }


def test_a_sandbox_answer_is_parsed_like_any_other():
    view = lambda request: JsonResponse({"balance": "999.50000", "currency": "USD"})  # noqa: E731
    balance = sandbox_client(view).balance()
    assert str(balance.amount) == "999.50000"


def test_a_sandbox_that_answers_after_the_read_timeout_leaves_the_outcome_unknown():
    committed, release = threading.Event(), threading.Event()

    def late_view(request: HttpRequest) -> HttpResponse:
        committed.set()
        release.wait(5)
        return JsonResponse({"order": 1})

    # The view answers only once released: an answer would mean the client waited past its timeout.
    try:
        with pytest.raises(ProviderOutcomeUnknown, match="read timeout.*may have processed.*charged"):
            sandbox_client(late_view, read_timeout=0.2).add(1, link="https://x", quantity=10)
    finally:
        release.set()
    assert committed.wait(PATIENCE)


def test_a_sandbox_html_page_leaves_the_outcome_unknown():
    view = lambda request: HttpResponse("<h1>Service Unavailable</h1>", status=503, content_type="text/html")  # noqa: E731
    with pytest.raises(ProviderOutcomeUnknown, match="HTTP 503, an HTML page without a title"):
        sandbox_client(view).balance()


def test_a_sandbox_view_that_crashes_is_an_http_500(caplog):
    def broken(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("boom")

    with pytest.raises(ProviderOutcomeUnknown, match="HTTP 500"):
        sandbox_client(broken).balance()
    assert "the sandbox view raised" in caplog.text


def test_a_switched_off_sandbox_is_unreachable(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(ProviderUnreachable, match="SANDBOX_ENABLED"):
        JapClient(SANDBOX_URL, API_KEY).add(1, link="https://x", quantity=10)


@pytest.mark.django_db(transaction=True)
def test_the_thread_serving_the_view_closes_its_database_connection():
    used = {}

    def view(request: HttpRequest) -> HttpResponse:
        used["connection"] = connections["default"]
        used["connection"].ensure_connection()
        return JsonResponse({"balance": "1", "currency": "USD"})

    sandbox_client(view).balance()
    assert used["connection"] is not connections["default"]
    assert used["connection"].connection is None
