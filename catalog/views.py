from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def service_list(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/service_list.html")
