from __future__ import annotations

from django.urls import path

from team import views

app_name = "team"
urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_edit, name="campaign_create"),
    path("<int:pk>/", views.campaign_edit, name="campaign_edit"),
]
