"""Sign-in safety: lockout after repeated failures, and sessions that end when idle."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from tests.factories import PASSWORD, person


def test_repeated_failed_logins_lock_the_username_out_with_a_clear_message(client, db):
    person("sam", "Viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": "sam", "password": "wrong"})
        assert "didn&#x27;t match" in response.content.decode() or "didn't match" in response.content.decode()
    locked = client.post("/accounts/login/", {"username": "sam", "password": "wrong"})
    assert "Too many failed logins" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    # Even the right password is refused until the lockout ends.
    again = client.post("/accounts/login/", {"username": "sam", "password": PASSWORD})
    assert "Too many failed logins" in again.content.decode()
    assert "_auth_user_id" not in client.session


def login(client, username: str, address: str, password: str = "wrong", forged: str = ""):
    """A login of `username` relayed by our one proxy for a client at `address`, who may have
    written a forwarded hop of its own (`forged`) before the proxy's."""
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"{forged}, {address}" if forged else address,
    )


@pytest.fixture
def behind_one_proxy(settings) -> None:
    settings.BEHIND_HTTPS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1


def test_a_username_is_locked_out_whatever_addresses_the_failures_come_from(client, db, behind_one_proxy):
    person("sam", "Viewer")
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, "sam", f"198.51.100.{n + 1}")
    right = login(client, "sam", "192.0.2.200", password=PASSWORD)
    assert "Too many failed logins" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_address_that_failed_too_often_is_locked_out_for_every_username(client, db, behind_one_proxy):
    person("kim", "Viewer")
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"guess{n}", "198.51.100.9")
    assert (
        "Too many failed logins" in login(client, "kim", "198.51.100.9", password=PASSWORD).content.decode()
    )
    assert login(client, "kim", "198.51.100.10", password=PASSWORD).status_code == 302


def test_a_forged_forwarded_hop_neither_spreads_failures_nor_escapes_the_lockout(
    client, db, behind_one_proxy
):
    # The client writes whatever it likes before our proxy's hop: each attempt claims another
    # address, yet they all count against the one address our proxy saw.
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"guess{n}", "198.51.100.9", forged=f"192.0.2.{n + 1}")
    assert AccessAttempt.objects.filter(ip_address="198.51.100.9").count() == settings.AXES_FAILURE_LIMIT
    locked = login(client, "anyone", "198.51.100.9", forged="192.0.2.99")
    assert "Too many failed logins" in locked.content.decode()


def test_sessions_end_after_the_idle_minutes_and_each_request_extends_them(client, db):
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    person("sam", "Viewer")
    response = client.post("/accounts/login/", {"username": "sam", "password": PASSWORD})
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_IDLE_MINUTES * 60
    response = client.get("/")
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_IDLE_MINUTES * 60


@pytest.mark.parametrize(
    "url", ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/MQ/set-password/"]
)
def test_without_an_email_server_there_are_no_password_reset_pages(client, db, url):
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "sam@example.com"}).status_code == 404
    assert "Forgot" not in client.get("/accounts/login/").content.decode()


def test_with_an_email_server_a_forgotten_password_is_reset_through_the_mailed_link(
    client, db, email_configured, mailoutbox
):
    person("sam", "Viewer")
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()
    assert client.post("/accounts/password_reset/", {"email": "sam@example.com"}).status_code == 302
    [mail] = mailoutbox
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.body).group(1)
    form = client.get(link, follow=True)
    new = "a-new-and-long-password-42"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert client.post("/accounts/login/", {"username": "sam", "password": new}).status_code == 302
