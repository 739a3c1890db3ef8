from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("bell/", views.bell, name="bell"),
    path("read-all/", views.notification_read_all, name="read_all"),
    path("preferences/", views.preferences, name="preferences"),
    path("<int:pk>/", views.notification_open, name="notification_open"),
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
    path("endpoints/new/", views.endpoint_edit, name="endpoint_create"),
    path("endpoints/<int:pk>/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:pk>/log/", views.endpoint_log, name="endpoint_log"),
    path("endpoints/<int:pk>/enable/", views.endpoint_enable_view, name="endpoint_enable"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend_view, name="delivery_resend"),
    path("balance-alerts/", views.balance_alert_save, name="balance_alert_save"),
]
