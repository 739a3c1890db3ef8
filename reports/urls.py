from __future__ import annotations

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_page, name="report"),
    path("export.csv", views.report_export, name="report_export"),
]
