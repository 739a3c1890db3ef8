"""The team pages in headless Chromium: htmx swaps under the Content-Security-Policy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from providers.models import Provider
from team.models import Budget
from tests.factories import person
from tests.production.test_csp_browser import assert_no_violation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refresh_balance_swaps_the_row_and_the_team_pages_draw_with_no_violation(watched):  # noqa: F811
    page = watched
    sandbox = Provider.objects.get(name="Sandbox")
    Budget.objects.create(provider=sandbox, amount=Decimal("250"))
    person("robin", "Buyer")
    person("sasha", "Approver")

    page.goto("/team/")
    expect(page.locator("h1")).to_have_text("People")
    rows = page.locator("#people-table tbody tr")
    expect(rows).to_have_count(3)  # admin, robin, sasha
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("searchbox", name="Search").fill("rob")
    expect(rows).to_have_count(1)
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("navigation", name="Team").get_by_role("link", name="Budgets").click()
    expect(page.locator("h1")).to_have_text("Budgets")
    expect(page.locator("svg.meter")).to_have_count(1)

    page.get_by_role("navigation", name="Team").get_by_role("link", name="Providers").click()
    row = page.locator(f"#provider-{sandbox.pk}")
    expect(row).to_contain_text("not read yet")
    page.evaluate("window.stillTheSamePage = true")
    row.get_by_role("button", name="Refresh balance").click()
    expect(page.locator(f"#provider-{sandbox.pk}")).to_contain_text("Sandbox: balance")
    expect(page.locator(f"#provider-{sandbox.pk}")).to_contain_text("USD")
    assert page.evaluate("window.stillTheSamePage") is True
    assert_no_violation(page)
