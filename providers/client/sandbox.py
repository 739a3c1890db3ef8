"""`sandbox://` URLs: the built-in sandbox panel served in-process.

The worker and the management commands do not know which port the web process listens on,
so a provider with `api_url = "sandbox://local/api/v2"` is answered by calling the sandbox
view directly. The request is still form-encoded by requests and the answer still parsed by
the client, so this path exercises exactly what a real panel would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

logger = logging.getLogger(__name__)

SandboxView = Callable[[HttpRequest], HttpResponse]


class SandboxUnavailable(requests.ConnectionError):
    """The sandbox is switched off or not installed: nothing was sent anywhere."""


def sandbox_view() -> SandboxView:
    """The view the in-process transport calls (benches and tests stand a counting one in)."""
    if not settings.SANDBOX_ENABLED:
        raise SandboxUnavailable("the sandbox is switched off (SANDBOX_ENABLED)")
    try:
        from providers.sandbox.views import api_v2
    except ImportError as exc:
        raise SandboxUnavailable(f"the sandbox view cannot be imported: {exc}") from exc
    return api_v2


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        return timeout[1]
    return timeout


class SandboxAdapter(BaseAdapter):
    """A requests transport that hands `sandbox://host/path` requests to the sandbox view.

    The view runs in its own thread so that the read timeout holds exactly as over HTTP: the
    sandbox's `late_accept` fault commits an order and then answers too late, and the client
    must see a ReadTimeout, not wait.
    """

    def __init__(self, view: SandboxView | None = None) -> None:
        super().__init__()
        self._view = view

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        view = self._view or sandbox_view()
        django_request = self._django_request(request)
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def serve() -> None:
            try:
                outcome["response"] = view(django_request)
            except Exception:
                logger.exception("the sandbox view raised")
                outcome["response"] = HttpResponse(
                    "sandbox error", status=500, content_type="text/plain; charset=utf-8"
                )
            finally:
                # This thread opened its own database connections; leaving them open would
                # leak one per call (and block test database teardown on PostgreSQL).
                connections.close_all()
                finished.set()

        threading.Thread(target=serve, name="sandbox-request", daemon=True).start()
        if not finished.wait(_read_timeout(timeout)):
            raise requests.ReadTimeout(
                f"the sandbox did not answer within the read timeout ({_read_timeout(timeout)}s)",
                request=request,
            )
        return self._build_response(request, outcome["response"])

    def close(self) -> None:
        """Nothing to release: no connections are pooled."""

    @staticmethod
    def _django_request(request: requests.PreparedRequest) -> HttpRequest:
        url = urlsplit(request.url or "")
        path = "/sandbox" + (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in {"content-type", "content-length", "host"}
        }
        body = request.body or b""
        return RequestFactory().generic(
            request.method or "POST",
            path,
            data=body.encode() if isinstance(body, str) else body,
            content_type=request.headers.get("Content-Type", "application/octet-stream"),
            headers=headers,
        )

    def _build_response(self, request: requests.PreparedRequest, response: HttpResponse) -> requests.Response:
        result = requests.Response()
        result.status_code = response.status_code
        result.reason = response.reason_phrase
        result.headers = CaseInsensitiveDict(response.headers)
        result.encoding = get_encoding_from_headers(result.headers)
        result._content = b"".join(response.streaming_content) if response.streaming else response.content
        # Read already: the client's streaming read takes it from memory, as with any answer.
        result._content_consumed = True
        result.url = request.url or ""
        result.request = request
        result.connection = self
        return result
