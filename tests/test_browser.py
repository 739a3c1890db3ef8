"""The quick start as a person meets it, in real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_person_logs_in_with_the_keyboard_and_finds_the_navigation(page, admin_user):
    page.goto("/services/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct-horse-battery")
    page.press("#id_password", "Enter")
    page.wait_for_url("**/services/")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("nav[aria-label=Main] a").all_inner_texts() == [
        "Dashboard",
        "Services",
        "Orders",
        "Presets",
        "Refills",
        "Reports",
        "API",
        "Audit",
        "Team",
        "Admin",
    ]
    # htmx is served from our own static files and loaded.
    assert page.evaluate("typeof htmx") == "object"


def test_a_wrong_password_is_answered_with_a_message_not_an_error_page(page, admin_user):
    page.goto("/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "didn't match" in page.get_by_role("alert").inner_text()


@pytest.mark.parametrize(
    ("path", "table"),
    [("/audit/", "#audit-table"), ("/people/", "#people-table")],
)
def test_back_to_a_filtered_list_shows_the_whole_page_not_the_bare_table(logged_in_page, path, table):
    page = logged_in_page
    page.goto(path)
    # The search swaps only the table (htmx) and pushes its URL; the browser caches that answer.
    page.get_by_role("searchbox").fill("admin")
    page.wait_for_url("**q=admin**")
    page.locator(table).wait_for()
    page.goto("/")
    page.go_back()
    page.wait_for_url("**q=admin**")
    # Without `Vary: HX-Request` the browser showed its cached fragment: no header, no filters.
    expect(page.locator("nav[aria-label=Main]")).to_be_visible()
    expect(page.locator(table)).to_be_visible()
