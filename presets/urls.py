from __future__ import annotations

from django.urls import path

from presets import views

app_name = "presets"
urlpatterns = [
    path("", views.preset_list, name="preset_list"),
    path("new/", views.preset_edit, name="preset_create"),
    path("<int:pk>/", views.preset_edit, name="preset_edit"),
    path("<int:pk>/archive/", views.preset_archive_view, name="preset_archive"),
    path("<int:pk>/apply/", views.preset_apply_view, name="preset_apply"),
    path("<int:pk>/applied/", views.preset_applied, name="preset_applied"),
]
