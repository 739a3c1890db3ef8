"""The API keys page (made, shown once, revoked; everyone's for a manager) and the API's own page."""

from __future__ import annotations

import json

import pytest

from api.models import ApiKey
from api.services import PREFIX_LENGTH, api_key_authenticate
from audit.models import AuditAction, AuditEntry
from tests.factories import client_of

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_and_then_only_its_prefix(people):
    client = client_of(people["viewer"])

    made = client.post("/api/keys/", {"name": "Reporting sheet"})

    key = ApiKey.objects.get()
    token = made.context["created"].token
    assert (key.user, key.name) == (people["viewer"], "Reporting sheet")
    assert token in made.content.decode() and made["Cache-Control"].startswith("max-age=0")
    again = client.get("/api/keys/").content.decode()
    assert token not in again and f"{key.prefix}…" in again
    assert api_key_authenticate(token=token) == key


def test_a_key_needs_a_name_and_an_expiry_not_in_the_past(people):
    client = client_of(people["buyer"])

    response = client.post("/api/keys/", {"name": "", "expires_on": "2001-01-01"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "expires_on"}
    assert not ApiKey.objects.exists()


def test_an_expiry_ends_the_key_after_that_day(people):
    client_of(people["buyer"]).post("/api/keys/", {"name": "Bot", "expires_on": "2999-12-31"})

    assert ApiKey.objects.get().expires_at.year == 2999


def test_a_person_revokes_their_own_key_but_not_someone_elses(people):
    client_of(people["buyer"]).post("/api/keys/", {"name": "Mine"})
    key = ApiKey.objects.get()

    assert client_of(people["other_buyer"]).post(f"/api/keys/{key.pk}/revoke").status_code == 403
    assert client_of(people["buyer"]).post(f"/api/keys/{key.pk}/revoke").status_code == 302
    key.refresh_from_db()
    assert key.revoked_by == people["buyer"] and key.state == "revoked"


def test_a_manager_lists_and_revokes_everyones_keys_and_a_buyer_sees_only_their_own(people):
    client_of(people["buyer"]).post("/api/keys/", {"name": "Buyer bot"})
    key = ApiKey.objects.get()

    assert "Buyer bot" not in client_of(people["other_buyer"]).get("/api/keys/").content.decode()
    manager = client_of(people["manager"])
    page = manager.get("/api/keys/").content.decode()
    assert "Everyone else's keys" in page and "Buyer bot" in page and "buyer" in page
    manager.post(f"/api/keys/{key.pk}/revoke")
    key.refresh_from_db()
    assert key.revoked_by == people["manager"]


def test_the_keys_page_asks_a_visitor_to_sign_in(client):
    assert client.get("/api/keys/").status_code == 302


def test_the_api_page_documents_the_base_url_examples_statuses_and_limits(people, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 77
    page = client_of(people["viewer"]).get("/api/").content.decode()

    assert "http://testserver/api/v2" in page
    assert "curl -s" in page and "from smm import SMM" in page
    assert "Unconfirmed</td><td>Processing" in page and "Declined</td><td>Canceled" in page
    assert "77 requests a minute per key" in page and "idempotency_key" in page


def test_making_and_revoking_a_key_is_audited_with_who_and_from_where_but_never_the_key(people):
    client = client_of(people["buyer"])
    client.defaults["REMOTE_ADDR"] = "198.51.100.7"
    token = client.post("/api/keys/", {"name": "Sheets", "expires_on": "2999-12-31"}).context["created"].token
    key = ApiKey.objects.get()
    manager = client_of(people["manager"])
    manager.defaults["REMOTE_ADDR"] = "198.51.100.8"
    manager.post(f"/api/keys/{key.pk}/revoke")
    manager.post(f"/api/keys/{key.pk}/revoke")  # revoked once: the second changes nothing

    made, revoked = AuditEntry.objects.filter(action__startswith="api_key.").order_by("id")
    assert (made.action, made.actor, made.ip, made.target_id) == (
        AuditAction.API_KEY_CREATED,
        people["buyer"],
        "198.51.100.7",
        str(key.pk),
    )
    assert made.after["name"] == "Sheets" and made.after["expires_at"].startswith("2999-12-31")
    assert (revoked.action, revoked.actor, revoked.ip, revoked.target_id) == (
        AuditAction.API_KEY_REVOKED,
        people["manager"],
        "198.51.100.8",
        str(key.pk),
    )
    assert "buyer" in revoked.note
    for entry in (made, revoked):
        text = json.dumps([entry.target_label, entry.before, entry.after, entry.note])
        assert token not in text and token[PREFIX_LENGTH:] not in text and key.digest not in text
