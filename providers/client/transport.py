"""The client's HTTP transport: no retries, no private addresses, and a deadline for a whole call.

Two guards live at the socket, where nothing else can get around them:

- The address. A panel's host name is resolved once, every address it resolves to must be
  public (unless ALLOW_PRIVATE_PROVIDER_URLS), the connection is opened to that checked address
  (so a second, different DNS answer cannot be slipped in between check and use: DNS rebinding)
  and the address actually connected to is checked again before a byte is sent.
- The time. A read timeout bounds each wait for a chunk, so a panel sending one byte every few
  seconds could hold a call for ever; `CallDeadline` closes the socket when the whole call has
  run out of time, whichever read it is blocked in (headers or body).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from providers.client.urls import address_kind

ALLOW_SETTING = "ALLOW_PRIVATE_PROVIDER_URLS"


class NotConnected(NewConnectionError):
    """A connection this transport refused to open: nothing was sent. `sentence` says why."""

    def __init__(self, conn: HTTPConnection, sentence: str) -> None:
        super().__init__(conn, sentence)
        self.sentence = sentence


class AddressNotAllowed(NotConnected):
    """The panel's address is inside a network."""


class DeadlinePassed(NotConnected):
    """The call ran out of time before its connection was opened."""


class CallDeadline:
    """Shuts the socket of the call down once `seconds` have passed since the call began.

    The timer starts only when a socket is attached: calls served without one (the sandbox,
    `responses` in tests) need no thread.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self._timer is None and not self.expired:
                self._timer = threading.Timer(max(self.remaining(), 0), self._expire)
                self._timer.daemon = True
                self._timer.start()
            elif self.expired:
                _shut(sock)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket (whose own shutdown() would unwrap it
    # under the feet of the thread reading it): the blocked read returns at once.
    with suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_deadline: ContextVar[CallDeadline | None] = ContextVar("provider_call_deadline", default=None)


@contextmanager
def call_deadline(seconds: float) -> Iterator[CallDeadline]:
    """Run one call (request and reading of the answer) under a deadline of `seconds`."""
    deadline = CallDeadline(seconds)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        deadline.cancel()
        _deadline.reset(token)


class _GuardedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        deadline = _deadline.get()
        if deadline is not None and deadline.remaining() <= 0:
            raise DeadlinePassed(self, f"no time left to connect (deadline {deadline.seconds:g}s)")
        sock = super()._new_conn() if getattr(settings, ALLOW_SETTING) else self._connect_public()
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def _connect_public(self) -> socket.socket:
        host = self._dns_host
        try:
            addresses = list(
                dict.fromkeys(
                    info[4][0] for info in socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
                )
            )
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        for address in addresses:
            self._refuse_inside(address)
        last_error: Exception | None = None
        for address in addresses:
            # Connect to the address just checked, not to the name again.
            self._dns_host = address
            try:
                sock = super()._new_conn()
            except NewConnectionError as exc:
                last_error = exc
                continue
            finally:
                self._dns_host = host
            try:
                self._refuse_inside(sock.getpeername()[0])
            except AddressNotAllowed:
                sock.close()
                raise
            return sock
        assert last_error is not None  # getaddrinfo never answers an empty list
        raise last_error

    def _refuse_inside(self, address: str) -> None:
        kind = address_kind(address)
        if kind is not None:
            raise AddressNotAllowed(
                self,
                f"{self.host} is at {address}, a {kind} address inside the network "
                f"({ALLOW_SETTING}=1 allows it)",
            )

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        # A connection kept alive from an earlier call was not opened under this call's deadline.
        deadline = _deadline.get()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class PanelAdapter(HTTPAdapter):
    """http(s) for panels: never retries (a retried `add` can buy twice), guarded connections."""

    def __init__(self) -> None:
        super().__init__(max_retries=Retry(total=0, read=False, redirect=False))

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
