"""The htmx idioms every page shares: whether a request wants one region, and where to go after a change."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme


def wants_partial(request: HttpRequest, target: str | None = None) -> bool:
    """Whether htmx asked for one region of the page (the element `target`, when given).

    Not for a boosted link, a history restore (back to a page htmx no longer has a snapshot
    of) or an HX-Location after an action: those swap the whole body.
    """
    return bool(
        request.htmx
        and not request.htmx.boosted
        and not request.htmx.history_restore_request
        and (target is None or request.htmx.target == target)
    )


def render_page(
    request: HttpRequest, template: str, partial: str, context: dict[str, Any], *, target: str | None = None
) -> HttpResponse:
    """The whole page, or only its `partial` when htmx asks for `target` (any region when None).

    The two answers are cached apart (`Vary`), so that the back button never shows the bare
    partial where the page was.
    """
    name = f"{template}#{partial}" if wants_partial(request, target) else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def location_or_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """After a change: the page at `url`, fetched by htmx (HX-Location) or by a redirect."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = json.dumps({"path": url, "target": "body"})
        return response
    return redirect(url)


def next_url(request: HttpRequest, default: str) -> str:
    """The posted `next` when it points into this site, else `default` (no open redirect)."""
    candidate = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default
