from __future__ import annotations

from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("statuses/", views.order_statuses, name="order_statuses"),
    path("export.csv", views.order_export, name="order_export"),
    path("bulk/", views.order_bulk, name="order_bulk"),
    path("new/", views.order_create, name="order_create"),
    path("new/estimate/", views.order_estimate_view, name="order_estimate"),
    path("mass/", views.mass_order, name="mass_order"),
    path("refills/", views.refill_list, name="refill_list"),
    path("refills/due/", views.refill_due_list, name="refill_due_list"),
    path("refills/due/export.csv", views.refill_due_export, name="refill_due_export"),
    path("refills/due/request/", views.refill_due_request, name="refill_due_request"),
    path("<str:code>/", views.order_detail, name="order_detail"),
    path("<str:code>/live/", views.order_live, name="order_live"),
    path("<str:code>/refill/", views.order_refill, name="order_refill"),
    path("<str:code>/cancel/", views.order_cancel_view, name="order_cancel"),
    path("<str:code>/check/", views.order_check, name="order_check"),
    path("<str:code>/stop-waiting/", views.order_stop_waiting_view, name="order_stop_waiting"),
    path("<str:code>/resolve/", views.order_resolve_view, name="order_resolve"),
    path("<str:code>/approve/", views.order_approve_view, name="order_approve"),
    path("<str:code>/decline/", views.order_decline_view, name="order_decline"),
]
