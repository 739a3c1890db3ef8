from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jappanel.health import broker_check, database_check
from jappanel.providers.models import Provider


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_check(), "broker": broker_check()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def dashboard(request: HttpRequest) -> HttpResponse:
    providers = Provider.objects.order_by("-active", "name")
    return render(request, "dashboard.html", {"providers": providers})
