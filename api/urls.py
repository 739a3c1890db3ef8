from __future__ import annotations

from django.urls import path

from api import views

app_name = "api"
urlpatterns = [
    path("", views.api_docs, name="docs"),
    path("v2", views.api_v2, name="v2"),
    path("v2/", views.api_v2),
    path("keys/", views.key_list, name="key_list"),
    path("keys/<int:pk>/revoke", views.key_revoke, name="key_revoke"),
]
