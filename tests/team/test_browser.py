"""The 403 message in a real browser: an htmx action refused on the server shows why, in place."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.browsing import sign_in
from tests.factories import person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_action_refused_after_the_page_was_drawn_shows_the_reason_on_the_page(page):
    buyer = person("buyer", "Buyer")
    sign_in(page, "buyer")
    page.goto("/services/")
    button = page.locator("#sync-status").get_by_role("button", name="Sync now")
    button.wait_for()
    # The manager takes the right away while the page is open: the button is stale, the server is not.
    buyer.groups.set([Group.objects.get(name="Viewer")])
    button.click()
    page.get_by_text("Your role does not allow this.").wait_for()
    assert page.locator("h1").first.inner_text() == "Services"
