from __future__ import annotations

from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.service_list, name="service_list"),
    path("<int:pk>/", views.service_detail, name="service_detail"),
    path("<int:pk>/favourite/", views.service_favourite, name="service_favourite"),
    path("sync/", views.sync_now, name="sync_now"),
    path("sync/status/", views.sync_status, name="sync_status"),
]
