"""Fault modes: the sandbox misbehaving on purpose, to test our own failure handling end to end."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpResponse

from providers.sandbox.models import Account, FaultMode

MAINTENANCE_PAGE = """<!DOCTYPE html>
<html><head><title>503 Service Temporarily Unavailable</title></head>
<body><h1>Service Temporarily Unavailable</h1>
<p>The panel is down for maintenance. Please try again in a few minutes.</p></body></html>
"""

CHALLENGE_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">justanotherpanel.com</h1>
<h2 class="h2">Checking if the site connection is secure</h2>
<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>
</div></div></body></html>
"""


def fault_mode(account: Account | None) -> str:
    """The account's own fault mode, else settings.SANDBOX_FAULT_MODE; unknown values mean none."""
    mode = (account.fault_mode if account else "") or getattr(settings, "SANDBOX_FAULT_MODE", "none")
    return mode if mode in FaultMode.values else FaultMode.NONE


def fault_page(mode: str) -> HttpResponse | None:
    """The HTML page that replaces the answer in this mode (nothing is processed), or None."""
    if mode == FaultMode.HTML_503:
        response = HttpResponse(MAINTENANCE_PAGE, status=503, content_type="text/html; charset=UTF-8")
        response["Retry-After"] = "300"
        return response
    if mode == FaultMode.CLOUDFLARE:
        response = HttpResponse(CHALLENGE_PAGE, status=403, content_type="text/html; charset=UTF-8")
        response["Server"] = "cloudflare"
        response["cf-mitigated"] = "challenge"
        return response
    return None


def fault_delay_before(mode: str) -> None:
    """Slow mode: wait settings.SANDBOX_SLOW_SECONDS before processing."""
    if mode == FaultMode.SLOW:
        time.sleep(float(getattr(settings, "SANDBOX_SLOW_SECONDS", 3.0)))


def fault_delay_after(mode: str, *, action: str, payload: object) -> None:
    """Late-accept mode: an order is committed, then answered after the client's read timeout."""
    accepted = isinstance(payload, dict) and "order" in payload
    if mode == FaultMode.LATE_ACCEPT and action == "add" and accepted:
        time.sleep(float(getattr(settings, "PROVIDER_READ_TIMEOUT", 30.0)) + 1.0)
