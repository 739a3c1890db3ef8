from __future__ import annotations

from django.urls import path

from providers.sandbox import views

app_name = "sandbox"
urlpatterns = [
    path("api/v2", views.api_v2, name="api_v2"),
    path("api/v2/", views.api_v2),
]
