"""In real headless Chromium: the Content-Security-Policy is enforced and htmx works under it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser


def assert_no_violation(page) -> None:
    assert page.evaluate("window.cspViolations") == []
    assert [line for line in page.console_messages if "Content Security Policy" in line] == []


def test_htmx_swaps_the_catalog_table_under_the_csp_with_no_violation(watched, transactional_db):
    ServiceFactory(service_id=101, name="Instagram Likes [Real]", category="Instagram Likes")
    ServiceFactory(service_id=7102, name="YouTube Views [Max: 10M]", category="YouTube Views")
    page = watched
    response = page.goto("/services/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    rows = page.locator("#service-table tbody tr")
    expect(rows).to_have_count(2)
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("searchbox", name="Search").fill("youtube")
    expect(rows).to_have_count(1)
    assert page.evaluate("window.stillTheSamePage") is True  # swapped by htmx, not reloaded
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.locator("head style").count() == 0
    assert_no_violation(page)


def test_the_dashboard_and_the_login_page_load_with_no_violation(watched):
    page = watched
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.evaluate("typeof htmx") == "object"
    assert_no_violation(page)


def test_an_inline_script_is_blocked_and_reported(watched):
    page = watched
    page.goto("/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = true"; document.body.append(s); }"""
    )
    page.wait_for_function("window.cspViolations.length > 0")
    assert page.evaluate("window.injected") is None
    assert "script-src" in page.evaluate("window.cspViolations")[0]
