"""Every page wants a login, except the login page itself, /healthz and the sandbox API."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/services/", "/orders/", "/orders/refills/"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_logged_in_people_see_every_page_with_the_navigation(client, admin_user, path):
    client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Dashboard", "Services", "Orders", "Refills", "Admin"):
        assert f">{label}</a>" in html
    assert "htmx-2" in html and "x-csrftoken" in html


def test_the_login_page_is_open_and_a_wrong_password_gets_a_message(client, admin_user):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "admin", "password": "wrong"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_the_admin_link_is_shown_to_staff_only(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="a-long-password-1")
    client.force_login(user)
    assert ">Admin</a>" not in client.get("/").content.decode()


def test_browsers_asking_for_favicon_ico_at_the_root_are_sent_to_the_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200
