from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

from jappanel import metrics, views

# Signing in and out and changing one's password; the four "forgot your password" pages only
# when mail can be sent (EMAIL_URL).
account_urls = [
    pattern
    for pattern in auth_urls.urlpatterns
    if settings.EMAIL_ENABLED or not pattern.name.startswith("password_reset")
]

urlpatterns = [
    path("", include("orders.dashboard")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers that ignore the page's icon link ask for /favicon.ico at the root.
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include(account_urls)),
    path("services/", include("catalog.urls")),
    path("orders/", include("orders.urls")),
    path("audit/", include("audit.urls")),
    # Campaigns, people, budgets, providers: team.urls holds the prefixes.
    path("", include("team.urls")),
    path("presets/", include("presets.urls")),
    path("reports/", include("reports.urls")),
    path("api/", include("api.urls")),
    path("notifications/", include("notifications.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "jappanel.views.forbidden"

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("providers.sandbox.urls")))
