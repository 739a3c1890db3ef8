"""The API keys page in a real browser: a key made from the keyboard, shown once, used, revoked."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from api.models import ApiKey
from tests.browsing import sign_in
from tests.factories import person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_makes_a_key_from_the_keyboard_uses_it_and_revokes_it(page):
    person("buyer", "Buyer")
    sign_in(page, "buyer")
    page.get_by_role("link", name="API", exact=True).click()
    page.get_by_role("link", name="Your API keys", exact=True).click()

    page.get_by_label("Name").fill("Reporting sheet")
    page.keyboard.press("Enter")
    token = page.locator("#new-key").inner_text()

    assert Client().post("/api/v2", {"key": token, "action": "balance"}).json()["currency"] == "USD"
    row = page.get_by_role("row", name="Reporting sheet")
    expect(row).to_contain_text(ApiKey.objects.get().prefix)
    page.goto("/api/keys/")
    expect(page.locator("#new-key")).to_have_count(0)
    page.get_by_role("row", name="Reporting sheet").get_by_role(
        "button", name="Revoke key Reporting sheet"
    ).click()
    expect(page.get_by_role("row", name="Reporting sheet")).to_contain_text("revoked")
    assert Client().post("/api/v2", {"key": token, "action": "balance"}).json() == {
        "error": "Invalid API key"
    }
