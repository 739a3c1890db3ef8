"""Filling in the order forms logs nothing to the browser console (htmx reports bad selectors there)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def console_errors(logged_in_page) -> list[str]:
    errors: list[str] = []
    logged_in_page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def test_choosing_a_service_and_typing_a_quantity_logs_no_console_error(
    logged_in_page, console_errors, transactional_db
):
    service = ServiceFactory(name="Instagram Followers [Real]")
    page = logged_in_page
    page.goto("/orders/new/")
    page.get_by_label("Platform").select_option(label="Instagram")
    page.get_by_label("Category").select_option("Instagram Followers")
    page.get_by_label("Service", exact=True).select_option(str(service.pk))
    expect(page.locator("#order-form h2")).to_have_text(service.name)
    page.get_by_label("Quantity").press_sequentially("500")
    expect(page.locator("#estimate .cost")).to_contain_text("0.45")
    page.get_by_label("Link").fill("https://instagram.com/p/x")
    page.get_by_label("Quantity").fill("1000")
    expect(page.locator("#estimate .cost")).to_contain_text("0.90")
    assert console_errors == []


def test_the_mass_order_preview_logs_no_console_error(logged_in_page, console_errors, transactional_db):
    service = ServiceFactory()
    page = logged_in_page
    page.goto("/orders/mass/")
    page.get_by_label("Provider").select_option(label="JAP")
    page.get_by_label("Orders, one per line").fill(f"{service.service_id} | https://instagram.com/p/a | 100")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("body")).to_contain_text("https://instagram.com/p/a")
    assert console_errors == []
