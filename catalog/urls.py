from __future__ import annotations

from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.service_list, name="service_list"),
    path("<int:pk>/", views.service_detail, name="service_detail"),
    path("<int:pk>/favourite/", views.service_favourite, name="service_favourite"),
    path("<int:pk>/shortlist/", views.service_shortlist, name="service_shortlist"),
    path("<int:pk>/refill/", views.service_refill, name="service_refill"),
    path("<int:pk>/shortlist/remove/", views.service_shortlist_remove, name="service_shortlist_remove"),
    path("providers/<int:pk>/", views.provider_record, name="provider_record"),
    path("changes/", views.change_list, name="change_list"),
    path("changes/export.csv", views.change_export, name="change_export"),
    path("shortlist/", views.shortlist, name="shortlist"),
    path("shortlist/policy/", views.team_policy_edit, name="team_policy_edit"),
    path("shortlist/export/", views.shortlist_export, name="shortlist_export"),
    path("sync/", views.sync_now, name="sync_now"),
    path("sync/status/", views.sync_status, name="sync_status"),
]
