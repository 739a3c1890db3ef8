"""Each failure class against real sockets: what reached the panel decides what is safe."""

from __future__ import annotations

import json
import logging
import socket
import threading
from contextlib import contextmanager

import pytest

from providers.client import (
    JapClient,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnreachable,
)
from tests.client.conftest import API_KEY, answering, http_response

CLOUDFLARE_CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div id="challenge-body-text">
Verifying you are human. This may take a few seconds.</div>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>"""

MAINTENANCE_PAGE = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    + ("<h1>We'll be back soon</h1>" * 40)
    + "</body></html>"
)


def client_for(url: str, *, read_timeout: float = 2) -> JapClient:
    return JapClient(url, API_KEY, connect_timeout=0.5, read_timeout=read_timeout)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"


def test_a_refused_connection_means_the_panel_was_not_reached():
    with pytest.raises(ProviderUnreachable, match="could not reach the panel at 127.0.0.1:.*refused"):
        client_for(closed_port_url()).add(1, link="https://x", quantity=10)


def test_a_host_name_that_does_not_resolve_means_the_panel_was_not_reached():
    with pytest.raises(ProviderUnreachable, match="could not be resolved"):
        client_for("http://panel.invalid/api/v2").balance()


def test_a_connect_timeout_means_the_panel_was_not_reached():
    # A listening socket whose accept queue is full leaves further SYNs unanswered.
    with socket.create_server(("127.0.0.1", 0), backlog=0) as server:
        port = server.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            with pytest.raises(ProviderUnreachable, match="connect timeout"):
                client_for(f"http://127.0.0.1:{port}/api/v2").add(1, link="https://x", quantity=10)
        finally:
            for filler in fillers:
                filler.close()


def test_a_panel_that_accepts_and_drops_the_connection_leaves_the_outcome_unknown_after_one_attempt(
    panel_socket,
):
    server = panel_socket(lambda conn, request: None)
    with pytest.raises(ProviderOutcomeUnknown, match="closed before an answer.*may have processed.*charged"):
        client_for(server.url).add(1, link="https://x", quantity=10)
    assert server.connections == 1
    assert b"action=add" in server.requests[0]


def test_a_read_timeout_means_the_outcome_is_unknown(panel_socket):
    released = threading.Event()
    server = panel_socket(lambda conn, request: released.wait(5))
    try:
        with pytest.raises(ProviderOutcomeUnknown, match=r"no answer within the read timeout \(0.3s\)"):
            client_for(server.url, read_timeout=0.3).add(1, link="https://x", quantity=10)
    finally:
        released.set()
    assert server.connections == 1


def test_no_adapter_of_the_client_retries():
    client = client_for("https://panel.example/api/v2")
    for prefix in ("https://", "http://"):
        retries = client.session.get_adapter(prefix).max_retries
        assert (retries.total, retries.read) == (0, False)


def test_an_html_503_page_leaves_the_outcome_unknown_and_says_what_came_back(panel_socket):
    server = panel_socket(answering(503, MAINTENANCE_PAGE, "text/html; charset=utf-8"))
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client_for(server.url).add(1, link="https://x", quantity=10)
    message = str(caught.value)
    assert "(HTTP 503, an HTML page titled '503 Service Temporarily Unavailable')" in message
    assert "back soon" not in message and "<" not in message


def test_a_5xx_is_unknown_even_with_a_json_error_body(panel_socket):
    server = panel_socket(answering(500, '{"error":"Incorrect request"}'))
    with pytest.raises(ProviderOutcomeUnknown, match="HTTP 500"):
        client_for(server.url).add(1, link="https://x", quantity=10)


@pytest.mark.parametrize("status", [403, 503])
def test_a_cloudflare_challenge_page_means_the_panel_was_not_reached(panel_socket, status):
    server = panel_socket(
        answering(status, CLOUDFLARE_CHALLENGE, "text/html; charset=UTF-8", Server="cloudflare")
    )
    with pytest.raises(
        ProviderUnreachable,
        match=rf"Cloudflare stopped the request before the panel \(HTTP {status}, a Cloudflare challenge\)$",
    ):
        client_for(server.url).add(1, link="https://x", quantity=10)


def test_a_cloudflare_challenge_is_recognised_by_its_header_alone(panel_socket):
    server = panel_socket(answering(403, "<html></html>", "text/html", cf_mitigated="challenge"))
    with pytest.raises(ProviderUnreachable):
        client_for(server.url).balance()


def test_cloudflare_failing_to_open_a_connection_to_the_origin_means_the_panel_was_not_reached(panel_socket):
    server = panel_socket(
        answering(522, "<html>Connection timed out</html>", "text/html", Server="cloudflare")
    )
    with pytest.raises(ProviderUnreachable):
        client_for(server.url).add(1, link="https://x", quantity=10)


def test_a_cloudflare_timeout_after_the_origin_got_the_request_leaves_the_outcome_unknown(panel_socket):
    server = panel_socket(answering(524, "<html>A timeout occurred</html>", "text/html", Server="cloudflare"))
    with pytest.raises(ProviderOutcomeUnknown):
        client_for(server.url).add(1, link="https://x", quantity=10)


@pytest.mark.parametrize("body", ['{"order": 1', "<html><body>Order placed</body></html>", "", "NaN"])
def test_a_body_that_is_not_json_leaves_the_outcome_unknown(panel_socket, body):
    server = panel_socket(answering(200, body, "text/html"))
    with pytest.raises(ProviderOutcomeUnknown, match="not JSON.*HTTP 200"):
        client_for(server.url).add(1, link="https://x", quantity=10)


def test_a_redirect_is_not_followed_and_leaves_the_outcome_unknown(panel_socket):
    server = panel_socket(answering(302, "", "text/html", Location="https://elsewhere.example/api/v2"))
    with pytest.raises(ProviderOutcomeUnknown, match="HTTP 302"):
        client_for(server.url).add(1, link="https://x", quantity=10)
    assert server.connections == 1


def test_an_error_answer_is_rejected_with_the_panels_sentence(panel_socket):
    server = panel_socket(answering(200, '{"error":"Not enough funds on balance"}', "text/html"))
    with pytest.raises(ProviderRejected) as caught:
        client_for(server.url).add(1, link="https://x", quantity=10)
    assert caught.value.message == "Not enough funds on balance"


def test_the_request_on_the_wire_is_a_form_post_with_the_key_in_the_body(panel_socket):
    server = panel_socket(answering(200, '{"balance":"1.00","currency":"USD"}'))
    client_for(server.url).balance()
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /api/v2 HTTP/1.1")
    assert b"Content-Type: application/x-www-form-urlencoded" in head
    assert body == f"key={API_KEY}&action=balance".encode()


# The API key never leaks -----------------------------------------------------------------------


def echo_the_request(status: int, content_type: str, template: str):
    def behaviour(conn: socket.socket, request: bytes) -> None:
        body = request.partition(b"\r\n\r\n")[2].decode()
        conn.sendall(http_response(status, template.replace("BODY", body), content_type))

    return behaviour


@pytest.mark.parametrize(
    ("behaviour", "expected", "json"),
    [
        (echo_the_request(503, "text/html", "<html>BODY</html>"), ProviderOutcomeUnknown, False),
        (echo_the_request(200, "text/plain", "BODY"), ProviderOutcomeUnknown, False),
        (echo_the_request(200, "application/json", '{"error": "bad request: BODY"}'), ProviderRejected, True),
        (echo_the_request(200, "application/json", '{"echo": "BODY"}'), ProviderOutcomeUnknown, True),
        (
            echo_the_request(403, "text/html", "<title>Just a moment...</title>BODY"),
            ProviderUnreachable,
            False,
        ),
    ],
)
def test_the_key_never_appears_in_an_error_or_the_logs_even_when_the_panel_echoes_it(
    panel_socket, caplog, behaviour, expected, json
):
    caplog.set_level(logging.DEBUG)
    server = panel_socket(behaviour)
    client = client_for(server.url)
    with pytest.raises(expected) as caught:
        client.add(1, link="https://x", quantity=10)
    assert API_KEY.encode() in server.requests[0]
    logging.getLogger("test").exception("provider failed", exc_info=caught.value)
    for text in (str(caught.value), repr(caught.value), caught.value.message, repr(client), caplog.text):
        assert API_KEY not in text
    # A JSON answer is quoted (scrubbed); any other body is described, never quoted.
    assert ("••••" in str(caught.value)) is json
    assert ("action=add" in str(caught.value)) is json


def test_the_key_never_appears_in_a_transport_error(caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderUnreachable) as caught:
        client_for(closed_port_url()).balance()
    logging.getLogger("test").exception("provider failed", exc_info=caught.value)
    assert API_KEY not in str(caught.value) + repr(caught.value)
    assert API_KEY not in caplog.text


def test_an_api_url_holding_the_key_is_refused_because_urls_end_up_in_logs():
    with pytest.raises(ValueError, match="must not contain the API key"):
        JapClient(f"https://panel.example/api/v2?key={API_KEY}", API_KEY)


# Rate limits ----------------------------------------------------------------------------------


class Tickets:
    """A pace that records what the client told it."""

    def __init__(self) -> None:
        self.slowed: list[float | None] = []
        self.taken = 0

    @contextmanager
    def slot(self):
        self.taken += 1
        ticket = self

        class Ticket:
            def slow_down(self, seconds: float | None = None) -> None:
                ticket.slowed.append(seconds)

        yield Ticket()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("<html><title>Too Many Requests</title></html>", "text/html"), ("", "text/plain")],
)
def test_an_http_429_means_slow_down_nothing_was_done(panel_socket, body, content_type):
    server = panel_socket(answering(429, body, content_type, retry_after="30"))
    tickets = Tickets()
    client = JapClient(server.url, API_KEY, connect_timeout=0.5, read_timeout=2, pace=tickets)
    with pytest.raises(ProviderRateLimited, match="too often") as caught:
        client.add(1, link="https://x", quantity=10)
    assert isinstance(caught.value, ProviderUnreachable)  # safe to send again, later
    assert caught.value.retry_after == 30
    assert (tickets.taken, tickets.slowed) == (1, [30])


@pytest.mark.parametrize(
    "sentence", ["Too many requests", "Rate limit exceeded, slow down", "API rate-limit"]
)
def test_a_rate_limit_sentence_means_slow_down_not_a_refusal(panel_socket, sentence):
    server = panel_socket(answering(200, json.dumps({"error": sentence})))
    tickets = Tickets()
    client = JapClient(server.url, API_KEY, connect_timeout=0.5, read_timeout=2, pace=tickets)
    with pytest.raises(ProviderRateLimited, match=sentence):
        client.balance()
    assert tickets.slowed == [None]


def test_another_error_sentence_is_still_a_refusal_and_does_not_slow_down(panel_socket):
    server = panel_socket(answering(200, '{"error": "Not enough funds on balance"}'))
    tickets = Tickets()
    client = JapClient(server.url, API_KEY, connect_timeout=0.5, read_timeout=2, pace=tickets)
    with pytest.raises(ProviderRejected) as caught:
        client.add(1, link="https://x", quantity=10)
    assert not isinstance(caught.value, ProviderRateLimited)
    assert (tickets.taken, tickets.slowed) == (1, [])
