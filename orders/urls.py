from __future__ import annotations

from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("refills/", views.refill_list, name="refill_list"),
]
