"""Every URL: login required, CSRF enforced, security headers and the CSP on every answer."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Open to anyone: logging in (and Django's password-reset pages that belong with it), the
# probes, the token-checked metrics, and the sandbox's and the team's JAP APIs, which
# authenticate by their keys.
OPEN = re.compile(
    r"^/(accounts/(login|password_reset|reset)/|favicon\.ico$|healthz$|readyz$|metrics$|sandbox/|api/v2/?$)"
)
# The JAP APIs (the simulator's, the team's) are machine endpoints, exempt from CSRF like JAP's own.
CSRF_EXEMPT = re.compile(r"^/(sandbox/|api/v2/?$)")
STATE_CHANGING = {"/accounts/logout/", "/services/1/favourite/", "/services/sync/", "/api/keys/1/revoke"}


def _routes(patterns: list, prefix: str = "") -> list[str]:
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):  # Django's own, with its own login and CSRF
                routes += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.append("/" + re.sub(r"<int:\w+>", "1", re.sub(r"<(str:)?\w+>", "x", route)))
    return routes


URLS = sorted(set(_routes(get_resolver().url_patterns)))


def test_the_url_list_is_complete_enough_to_mean_something():
    assert {"/", "/services/", "/orders/", "/healthz", "/readyz", "/accounts/login/"} <= set(URLS)
    assert set(URLS) >= STATE_CHANGING


@pytest.mark.parametrize("url", [url for url in URLS if not OPEN.match(url)])
def test_anonymous_visitors_of_any_other_url_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", [url for url in URLS if not CSRF_EXEMPT.match(url)])
def test_a_post_without_the_csrf_token_is_refused_everywhere(admin_user, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(url, {"anything": "1"}).status_code == 403


@pytest.mark.parametrize("url", sorted(STATE_CHANGING))
def test_state_changing_endpoints_refuse_a_get(admin_client, url):
    assert admin_client.get(url).status_code == 405


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def assert_security_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "url", ["/", "/services/", "/orders/", "/orders/refills/", "/accounts/login/", "/healthz"]
)
def test_every_page_carries_the_security_headers_and_hsts_over_https(admin_client, production, url):
    response = admin_client.get(url, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert_security_headers(response)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_plain_http_is_redirected_to_https_but_the_probes_are_answered(client, production):
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    assert client.get("/healthz").status_code == 200


def test_session_and_csrf_cookies_are_secure_and_hidden_from_scripts(client, admin_user, production):
    https = {"X-Forwarded-Proto": "https"}
    login_page = client.get("/accounts/login/", headers=https)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post(
        "/accounts/login/", {"username": "admin", "password": "correct-horse-battery"}, headers=https
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
