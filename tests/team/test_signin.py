"""Sign-in safety: lockout after repeated failures, and sessions that end when idle."""

from __future__ import annotations

from django.conf import settings

from tests.team.conftest import PASSWORD, person


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


def test_a_lockout_is_per_username_and_address(client, db):
    person("sam", "Viewer")
    person("kim", "Viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "sam", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "kim", "password": PASSWORD}).status_code == 302


def test_sessions_end_after_the_idle_minutes_and_each_request_extends_them(client, db):
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    person("sam", "Viewer")
    response = client.post("/accounts/login/", {"username": "sam", "password": PASSWORD})
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_IDLE_MINUTES * 60
    response = client.get("/")
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_IDLE_MINUTES * 60
