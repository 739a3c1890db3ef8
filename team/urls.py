from __future__ import annotations

from django.urls import path

from team import views

# Mounted at the site root: every route carries its own prefix, and none is "" (the dashboard's).
app_name = "team"
urlpatterns = [
    path("team/", views.team_index, name="index"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_edit, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_edit, name="campaign_edit"),
    path("people/", views.person_list, name="person_list"),
    path("people/new/", views.person_add, name="person_create"),
    path("people/<int:pk>/", views.person_edit, name="person_edit"),
    path("budgets/", views.budget_list, name="budget_list"),
    path("budgets/new/", views.budget_edit, name="budget_create"),
    path("budgets/<int:pk>/", views.budget_edit, name="budget_edit"),
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/new/", views.provider_edit, name="provider_create"),
    path("providers/<int:pk>/", views.provider_edit, name="provider_edit"),
    path("providers/<int:pk>/refresh/", views.provider_refresh, name="provider_refresh"),
]
