"""A real local socket standing in for a panel, for the failure classes that need one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import responses

from providers.client import JapClient

API_URL = "https://panel.example/api/v2"
API_KEY = "0123456789abcdef0123456789abcdef"


def read_request(conn: socket.socket) -> bytes:
    """One HTTP request (headers and Content-Length body) from `conn`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def http_response(
    status: int, body: str | bytes, content_type: str = "application/json", **headers: str
) -> bytes:
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(payload)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class PanelSocket:
    """Accepts connections on 127.0.0.1 and treats each with `behaviour(conn, request)`.

    Records every connection it accepted and every request it read, so a test can prove
    that exactly one attempt was made.
    """

    def __init__(self, behaviour: Callable[[socket.socket, bytes], None]) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/api/v2"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(5)
                request = read_request(conn)
                self.requests.append(request)
                self.behaviour(conn, request)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


@pytest.fixture
def panel_socket() -> Iterator[Callable[[Callable[[socket.socket, bytes], None]], PanelSocket]]:
    servers: list[PanelSocket] = []

    def start(behaviour: Callable[[socket.socket, bytes], None]) -> PanelSocket:
        servers.append(PanelSocket(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def answering(status: int, body: str | bytes, content_type: str = "application/json", **headers: str):
    def behaviour(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(status, body, content_type, **headers))

    return behaviour


@pytest.fixture
def panel() -> Iterator[responses.RequestsMock]:
    """The panel at API_URL, answered by recorded shapes (`responses`)."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def jap() -> Iterator[JapClient]:
    with JapClient(API_URL, API_KEY, connect_timeout=1, read_timeout=2) as client:
        yield client
