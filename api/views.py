from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from api.forms import ApiKeyForm
from api.models import ApiKey
from api.services import (
    STATUS_NAMES,
    TeamBackend,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    api_key_use,
    api_keys_visible_to,
)
from audit.services import audit_through, client_ip
from jappanel.web.access import allowed, may
from providers.wire import (
    INCORRECT_REQUEST,
    INVALID_KEY,
    MAX_IDS,
    api_answer,
    error_response,
    json_response,
    request_params,
)

TOO_LARGE = "Request too large"
# Everyone's keys, newest first, for a manager: more than a team ever holds at once.
LISTED = 200
TOO_MANY = "Too many requests: the limit is {limit} a minute per key. Try again in a minute."


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def api_v2(request: HttpRequest) -> HttpResponse:
    """JAP API v2 for the team's own tools: a person's key, their role, our rules."""
    if _declared_length(request) > settings.API_MAX_REQUEST_BYTES:
        return error_response(TOO_LARGE, status=413)
    try:
        params = request_params(request)
    except SuspiciousOperation:  # more form fields than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS)
        return error_response(INCORRECT_REQUEST, status=400)
    key = api_key_authenticate(token=params.get("key", "").strip())
    if key is None:
        return error_response(INVALID_KEY)
    ip = client_ip(request)
    if not api_key_use(key=key, ip=ip):
        response = error_response(TOO_MANY.format(limit=settings.API_RATE_LIMIT_PER_MINUTE), status=429)
        response["Retry-After"] = "60"
        return response
    with audit_through(f"API key {key}"):
        return json_response(api_answer(backend=TeamBackend(key, ip=ip), params=params))


def _declared_length(request: HttpRequest) -> int:
    # As Django reads it: a missing or malformed length is no body.
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@never_cache
@require_http_methods(["GET", "POST"])
@allowed("view_orders")
def key_list(request: HttpRequest) -> HttpResponse:
    """The person's own keys, a form for a new one (shown once), and everyone's for a manager."""
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = api_key_create(
            user=request.user,
            name=form.cleaned_data["name"],
            expires_at=form.expires_at(),
            ip=client_ip(request),
        )
        form = ApiKeyForm()
    keys = api_keys_visible_to(request.user)
    others = keys.exclude(user=request.user) if may(request.user, "manage_people") else None
    context = {
        "form": form,
        "created": created,
        "own": keys.filter(user=request.user),
        "everyone": others[:LISTED] if others is not None else None,
        "everyone_count": others.count() if others is not None else 0,
        "listed": LISTED,
    }
    return render(request, "api/key_list.html", context)


@require_POST
@allowed("view_orders")
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    if key.user_id != request.user.pk and not may(request.user, "manage_people"):
        raise PermissionDenied
    api_key_revoke(key=key, by=request.user, ip=client_ip(request))
    return redirect("api:key_list")


@require_GET
@allowed("view_orders")
def api_docs(request: HttpRequest) -> HttpResponse:
    """How to use the team API: the key, the base URL, examples, the status mapping, the limits."""
    context = {
        "base_url": request.build_absolute_uri("/api/v2"),
        "statuses": sorted(STATUS_NAMES.items(), key=lambda item: item[1]),
        "rate_limit": settings.API_RATE_LIMIT_PER_MINUTE,
        "max_bytes": settings.API_MAX_REQUEST_BYTES,
        "max_ids": MAX_IDS,
    }
    return render(request, "api/api_docs.html", context)
