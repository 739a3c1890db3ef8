from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.services import requester_set


class AuditRequesterMiddleware:
    """Makes the signed-in person and their address known to audit records made by signals."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with requester_set(request):
            return self.get_response(request)
