"""A repriced shortlisted service, from the sandbox panel's list to the dashboard and the changes
page, in real headless Chromium."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Service, ShortlistEntry
from catalog.services import catalog_sync
from providers.models import Provider
from providers.sandbox.models import Service as SandboxService
from providers.sandbox.services import service_catalog_ensure

pytestmark = pytest.mark.browser


def test_a_repriced_shortlisted_service_is_flagged_on_the_dashboard_and_first_in_the_changes_page(
    logged_in_page, transactional_db, settings
):
    settings.PRICE_JUMP_ALERT_PERCENT = Decimal("20")
    sandbox = Provider.objects.get(name="Sandbox")
    service_catalog_ensure()
    catalog_sync(provider=sandbox)
    panel_service = SandboxService.objects.filter(active=True, type="Default").order_by("id").first()
    ours = Service.objects.get(provider=sandbox, service_id=panel_service.id)
    ShortlistEntry.objects.create(service=ours, house_name="Our premium followers")
    other = SandboxService.objects.filter(active=True).exclude(pk=panel_service.pk).order_by("id").first()
    # The panel raises our shortlisted service by 50% and renames another one; the next sync sees both.
    SandboxService.objects.filter(pk=panel_service.pk).update(rate=panel_service.rate * Decimal("1.5"))
    SandboxService.objects.filter(pk=other.pk).update(name=f"{other.name} v2")
    catalog_sync(provider=sandbox)
    page = logged_in_page

    page.goto("/")
    card = page.locator(".catalog-changes-card")
    jump = card.locator(".price-jumps li")
    expect(jump).to_have_count(1)
    expect(jump).to_contain_text("Price jump")
    expect(jump).to_contain_text("Our premium followers")
    expect(jump).to_contain_text("+50.0%")
    expect(card).to_contain_text("2 changes in the last 30 days, 1 touching your shortlist or presets")

    card.get_by_role("link", name="All changes since your last visit →").click()
    expect(page).to_have_url(re.compile(r"/services/changes/\?since=visit&seen="))
    impact = page.locator(".impact")
    expect(impact).to_contain_text(ours.name)
    expect(impact).to_contain_text("Shortlisted as “Our premium followers”")
    expect(impact).to_contain_text("Rate up +50.0%")
    listed = page.locator("#change-table .change-list-card tbody tr")
    expect(listed).to_have_count(2)
    expect(listed.filter(has_text=ours.name)).to_have_class(re.compile(r"touches"))
    expect(listed.filter(has_text="v2")).to_contain_text("Renamed")

    page.get_by_label("Only the shortlist").check()
    expect(listed).to_have_count(1)
    expect(page).to_have_url(re.compile(r"shortlist=true"))
    expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", re.compile(r"shortlist=true")
    )
    page.reload()
    expect(listed).to_have_count(1)  # the filters and the visit are in the URL
