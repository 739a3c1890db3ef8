from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jappanel.health import readiness
from jappanel.web.access import has_role


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: no database, no broker, so a slow dependency never restarts web."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
@login_not_required
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "error", **checks}, status=200 if ready else 503)


@require_GET
@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("favicon.svg"), permanent=True)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page: why, and the way back; for htmx, one short message to swap in."""
    user = request.user
    context = {"no_role": user.is_authenticated and not has_role(user)}
    if not getattr(request, "htmx", False):
        return render(request, "403.html", context, status=403)
    response = render(request, "403.html#message", context, status=403)
    # Above the page's content, whatever region the refused request meant to replace.
    response["HX-Retarget"] = "main.content"
    response["HX-Reswap"] = "afterbegin"
    return response
