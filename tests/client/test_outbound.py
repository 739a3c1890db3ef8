"""What the client refuses to send or to read: addresses inside the network, answers too large or
too slow, and pages it will describe but never quote."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from providers.client import JapClient, ProviderOutcomeUnknown, ProviderRejected, ProviderUnreachable
from tests.client.conftest import API_KEY, answering, http_response

PHISHING_PAGE = (
    "<!DOCTYPE html><html><head><title>Bad gateway</title></head><body>"
    "<h1>Your API key expired: enter it again at https://evil.example/renew</h1></body></html>"
)


def client_for(url: str, **options: float) -> JapClient:
    return JapClient(url, API_KEY, **{"connect_timeout": 0.5, "read_timeout": 2, **options})


@pytest.fixture
def private_refused(settings):
    settings.ALLOW_PRIVATE_PROVIDER_URLS = False


# Addresses inside the network -----------------------------------------------------------------


def test_a_panel_on_a_loopback_address_is_refused_before_anything_is_sent(panel_socket, private_refused):
    server = panel_socket(answering(200, '{"balance": "1", "currency": "USD"}'))
    with pytest.raises(ProviderUnreachable, match=r"127\.0\.0\.1, a loopback address inside the network"):
        client_for(server.url).balance()
    assert server.connections == 0


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.5", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared"),
        ("0.0.0.0", "unspecified"),
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[fd00::1]", "private"),
        ("localhost:6379", "loopback"),
    ],
)
def test_private_link_local_and_loopback_addresses_are_refused_as_never_sent(private_refused, host, kind):
    with pytest.raises(ProviderUnreachable, match=f"could not reach the panel.*a {kind}.*inside the network"):
        client_for(f"http://{host}/api/v2").add(1, link="https://x", quantity=10)


def test_the_address_actually_connected_to_is_checked_not_only_the_name(
    panel_socket, private_refused, monkeypatch
):
    """DNS rebinding: the name looked public when checked, the connection lands on loopback."""
    server = panel_socket(answering(200, '{"balance": "1", "currency": "USD"}'))
    port = int(server.url.split(":")[2].split("/")[0])
    answers = iter(["93.184.215.14", "127.0.0.1"])

    def rebinding_dns(host, *args, **kwargs):
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    with pytest.raises(ProviderUnreachable, match=r"at 127\.0\.0\.1, a loopback address"):
        client_for(f"http://panel.example:{port}/api/v2").balance()
    server.close()
    assert all(API_KEY.encode() not in request for request in server.requests)


def test_with_allow_private_provider_urls_a_local_panel_is_reached(panel_socket, settings):
    settings.ALLOW_PRIVATE_PROVIDER_URLS = True
    server = panel_socket(answering(200, '{"balance": "1", "currency": "USD"}'))
    assert client_for(server.url).balance().currency == "USD"


@pytest.mark.django_db(transaction=True)
def test_the_in_process_sandbox_is_never_concerned_by_the_address_rule(private_refused, settings):
    settings.SANDBOX_API_KEY = "outbound-sandbox-key"
    balance = JapClient("sandbox://local/api/v2", "outbound-sandbox-key").balance()
    assert balance.currency == "USD"


def test_proxies_from_the_environment_are_not_used_since_they_would_connect_for_us(
    panel_socket, private_refused, monkeypatch
):
    proxy = panel_socket(answering(200, '{"balance": "1", "currency": "USD"}'))
    monkeypatch.setenv("HTTP_PROXY", proxy.url.rsplit("/api/v2", 1)[0])
    with pytest.raises(ProviderUnreachable):
        client_for("http://10.9.9.9/api/v2").balance()
    assert proxy.connections == 0


# What is said about an answer that is not JSON ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type", "described"),
    [
        (502, PHISHING_PAGE, "text/html", "(HTTP 502, an HTML page titled 'Bad gateway')"),
        (200, PHISHING_PAGE, "text/plain", "(HTTP 200, an HTML page titled 'Bad gateway')"),
        (502, "", "text/html", "(HTTP 502, an empty answer)"),
        (
            200,
            "Order placed, enter your key at evil.example",
            "text/plain",
            "(HTTP 200, text/plain of 44 characters)",
        ),
    ],
)
def test_an_answer_that_is_not_json_is_described_in_one_sentence_never_quoted(
    panel_socket, status, body, content_type, described
):
    server = panel_socket(answering(status, body, content_type))
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client_for(server.url).add(1, link="https://x", quantity=10)
    message = str(caught.value)
    assert described in message
    assert "evil.example" not in message and "\n" not in message


def test_the_panels_own_error_sentence_is_shown_on_one_line_and_never_a_page_of_it(panel_socket):
    sentence = "Not enough funds\n\non balance " + "x" * 20_000
    server = panel_socket(answering(200, json.dumps({"error": sentence})))
    with pytest.raises(ProviderRejected) as caught:
        client_for(server.url).add(1, link="https://x", quantity=10)
    assert caught.value.message.startswith("Not enough funds on balance xxx")
    assert len(caught.value.message) == 300 and caught.value.message.endswith("…")


# How much and how long is read ---------------------------------------------------------------------


def test_an_answer_larger_than_its_cap_is_not_read_and_leaves_the_outcome_unknown(panel_socket, settings):
    settings.PROVIDER_MAX_ANSWER_MB = 1 / 1024
    big = '{"balance": "1", "currency": "USD", "pad": "%s"}' % ("x" * 2000)
    server = panel_socket(answering(200, big))
    with pytest.raises(
        ProviderOutcomeUnknown, match=r"larger than 1 kB and was not read.*may have processed"
    ):
        client_for(server.url).balance()


def test_an_answer_without_a_length_is_cut_at_its_cap(panel_socket, settings):
    settings.PROVIDER_MAX_ANSWER_MB = 1 / 1024

    def unannounced(conn: socket.socket, request: bytes) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        try:
            conn.sendall(head + b'{"pad": "' + b"x" * 2 * 1024 * 1024 + b'"}')
        except OSError:
            return

    server = panel_socket(unannounced)
    with pytest.raises(ProviderOutcomeUnknown, match="larger than 1 kB"):
        client_for(server.url).status(1)


def test_a_services_list_has_a_cap_of_its_own(panel_socket, settings):
    settings.PROVIDER_MAX_ANSWER_MB = 1 / 1024
    settings.PROVIDER_MAX_SERVICES_MB = 1
    service = {"service": 1, "name": "F" * 3000, "type": "Default", "rate": "1", "min": 1, "max": 10}
    server = panel_socket(answering(200, json.dumps([service])))
    assert len(client_for(server.url).services().services) == 1


def trickling(at: str):
    """A panel that sends its answer one byte at a time, in the headers or in the body."""
    answer = http_response(200, '{"balance": "1.00", "currency": "USD"}' + " " * 60)
    split = 12 if at == "headers" else answer.index(b"\r\n\r\n") + 5

    def behaviour(conn: socket.socket, request: bytes) -> None:
        stop = threading.Event()
        try:
            conn.sendall(answer[:split])
            for index in range(split, len(answer)):
                conn.sendall(answer[index : index + 1])
                stop.wait(0.05)
        except OSError:
            return

    return behaviour


@pytest.mark.parametrize("at", ["headers", "body"])
def test_a_panel_trickling_its_answer_is_cut_off_at_the_call_deadline(panel_socket, at):
    server = panel_socket(trickling(at))
    with pytest.raises(ProviderOutcomeUnknown, match=r"no complete answer from 127\.0\.0\.1:\d+ within 0.5s"):
        client_for(server.url, read_timeout=2, deadline=0.5).balance()


# Cloudflare ---------------------------------------------------------------------------------------


def test_a_cf_mitigated_header_on_an_answer_from_the_panel_does_not_make_it_unsent(panel_socket):
    server = panel_socket(answering(200, '{"order": 23501}', cf_mitigated="challenge"))
    assert client_for(server.url).add(1, link="https://x", quantity=10) == 23501


@pytest.mark.parametrize("status", [502, 500])
def test_a_cf_mitigated_header_on_an_error_other_than_the_challenge_leaves_the_outcome_unknown(
    panel_socket, status
):
    server = panel_socket(answering(status, "<html></html>", "text/html", cf_mitigated="challenge"))
    with pytest.raises(ProviderOutcomeUnknown):
        client_for(server.url).add(1, link="https://x", quantity=10)
