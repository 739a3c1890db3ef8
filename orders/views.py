from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def order_list(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/order_list.html")


def refill_list(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/refill_list.html")
