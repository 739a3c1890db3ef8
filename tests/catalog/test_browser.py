"""The catalog as a person uses it, in real headless Chromium."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from providers.models import Provider
from tests.factories import PriceChangeFactory, ProviderFactory, ServiceFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def catalog(transactional_db):
    jap = ProviderFactory(name="JAP")
    likes = ServiceFactory(provider=jap, likes=True)
    ServiceFactory(provider=jap, followers=True)
    views = ServiceFactory(provider=jap, views=True, max_quantity=10_000_000)
    PriceChangeFactory(service=views, old_rate=Decimal("2.50000"), new_rate=Decimal("3.00000"))
    return {"likes": likes, "views": views}


def rows(page):
    return page.locator("#service-table tbody tr")


def test_a_person_searches_filters_prices_stars_and_opens_a_service(logged_in_page, catalog):
    page = logged_in_page
    page.goto("/services/")
    expect(rows(page)).to_have_count(3)
    # No full reload happens below: this mark would be lost.
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("searchbox", name="Search").fill("instagram")
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=instagram"))

    page.get_by_label("Refill").check()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Instagram Likes [Real]")
    page.go_back()
    expect(rows(page)).to_have_count(2)
    page.get_by_label("Refill").uncheck()

    page.get_by_label("Quantity").fill("2000")
    expect(page.locator("#service-table thead")).to_contain_text("Cost × 2,000")
    expect(rows(page).filter(has_text="Instagram Likes")).to_contain_text("0.50 USD")

    star = page.get_by_role("button", name="Favourite 101")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(page.get_by_role("button", name="Favourite 101")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Favourites only").check()
    expect(rows(page)).to_have_count(1)
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_label("Favourites only").uncheck()
    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_role("searchbox", name="Search").press("Enter")
    page.get_by_role("link", name="YouTube Views [Max: 10M]").click()
    panel = page.get_by_role("dialog")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("100 – 10,000,000")
    expect(panel.locator("svg[role=img]")).to_be_visible()
    expect(panel).to_contain_text("2.50 → 3.00")
    panel.get_by_role("button", name="Close the details").click()
    expect(panel).to_be_hidden()
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("link", name="YouTube Views [Max: 10M]").click()
    page.get_by_role("dialog").get_by_role("link", name="Order this").click()
    expect(page).to_have_url(re.compile(rf"/orders/new/\?service={catalog['views'].pk}$"))
    expect(page.locator("main")).to_contain_text("YouTube Views [Max: 10M]")


def test_filters_survive_a_reload_and_a_shared_link(logged_in_page, catalog):
    page = logged_in_page
    page.goto("/services/")
    page.get_by_label("Platform").select_option("youtube")
    expect(rows(page)).to_have_count(1)
    page.reload()
    expect(page.get_by_label("Platform")).to_have_value("youtube")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("YouTube Views")


@pytest.mark.worker
def test_sync_now_shows_progress_then_the_result_and_fills_the_table_without_a_reload(
    logged_in_page, celery_worker
):
    page = logged_in_page
    page.goto("/services/")
    expect(page.get_by_role("heading", name="Waiting for the first sync")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Sync now").first.click()
    status = page.locator("#sync-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_contain_text("added")
    expect(rows(page).first).to_be_visible()
    assert rows(page).count() == 25
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_sandbox_service_is_marked_in_the_table_and_its_panel_and_a_real_one_is_not(
    logged_in_page, catalog
):
    page = logged_in_page
    sandbox = Provider.objects.get(name="Sandbox")
    ServiceFactory(provider=sandbox, service_id=9001, name="Sandbox Likes", category="Instagram Likes")
    page.goto("/services/?q=Instagram+Likes")
    fake = rows(page).filter(has_text="Sandbox Likes")
    real = rows(page).filter(has_text="Instagram Likes [Real]")
    mark = fake.locator(".badge.sandbox")
    expect(mark).to_be_visible()
    expect(mark).to_have_text("Sandbox — no real money")
    # Its own colour, not the grey of an ordinary badge.
    assert mark.evaluate("element => getComputedStyle(element).backgroundColor") == "rgb(243, 232, 255)"
    expect(real.locator(".badge.sandbox")).to_have_count(0)
    fake.get_by_role("link", name="Sandbox Likes").click()
    expect(page.locator("#detail-panel .badge.sandbox")).to_be_visible()
