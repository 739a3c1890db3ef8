"""People, the sandbox's services, and a real SMTP server and web receiver on localhost."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture(autouse=True)
def notify_settings(order_settings, settings) -> None:
    settings.APPROVAL_THRESHOLD = Decimal("0.50")
    settings.SITE_URL = "https://panel.example.com"
    settings.NOTIFY_WEBHOOK_BACKOFF_SECONDS = 0.0
    settings.ALLOW_PRIVATE_PROVIDER_URLS = True


@dataclass
class Receiver:
    """A team's own tool: checks each delivery's signature and keeps each delivery id once."""

    secret: str = ""
    url: str = ""
    # Answers to give, in order ("ok", "drop": read the request and close without answering,
    # or an HTTP status); then "ok".
    script: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    processed: dict[str, dict] = field(default_factory=dict)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                answer = state.script.pop(0) if state.script else "ok"
                state.requests.append({"headers": dict(self.headers), "body": body})
                timestamp = self.headers.get("X-Jappanel-Timestamp", "")
                expected = (
                    "sha256="
                    + hmac.new(
                        state.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
                    ).hexdigest()
                )
                if state.secret and not hmac.compare_digest(
                    expected, self.headers.get("X-Jappanel-Signature", "")
                ):
                    state.bad_signatures += 1
                    answer = "401"
                elif answer in ("ok", "drop"):
                    delivery = self.headers.get("X-Jappanel-Delivery") or str(len(state.requests))
                    state.processed.setdefault(delivery, json.loads(body))
            if answer == "drop":
                # Killed mid-way: the delivery arrived, its answer never does.
                self.connection.shutdown(2)
                self.close_connection = True
                return
            status = 200 if answer == "ok" else int(answer)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)


@pytest.fixture
def smtp_server(settings) -> Iterator[Mailbox]:
    """A real SMTP server on localhost (aiosmtpd); Django sends to it over SMTP."""
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
            from email import message_from_bytes

            box.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as probe:  # a free port: aiosmtpd checks its server by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield box
    controller.stop()
