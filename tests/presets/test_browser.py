"""A preset made and applied in real headless Chromium: create, preview with its total, place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jappanel.web.money import money
from orders.models import Order, OrderStatus
from orders.services.placing import order_estimate
from presets.models import Preset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_preset_is_created_applied_to_two_links_previewed_with_its_total_and_placed(
    logged_in_page, followers
):
    page = logged_in_page
    quantity = max(100, followers.min_quantity)
    page.goto("/presets/")
    page.get_by_role("link", name="Create your first preset").click()
    page.get_by_label("Name").fill("Launch week")
    page.locator("#id_lines-0-service_number").fill(str(followers.service_id))
    page.locator("#id_lines-0-service_number").press("Tab")
    # The service's name comes beside its id once the id is entered.
    expect(page.locator("#service-name-0")).to_contain_text(followers.name[:30])
    page.locator("#id_lines-0-quantity").fill(str(quantity))
    page.get_by_role("button", name="Save preset").click()

    expect(page.locator(".messages")).to_contain_text("Preset “Launch week” saved.")
    preset = Preset.objects.get(name="Launch week")
    assert list(preset.lines.values_list("service", "quantity")) == [(followers.pk, quantity)]
    page.get_by_role("link", name="Apply").click()
    page.get_by_label("Links, one per line").fill(
        "https://instagram.com/p/one\n\nhttps://instagram.com/p/two\n"
    )
    page.get_by_role("button", name="Preview").click()

    each = order_estimate(service=followers, fields={"quantity": quantity})
    total = page.locator(".apply-total .total-amount")
    expect(total).to_have_text(f"{money(each * 2)} {followers.provider.currency}")
    expect(page.locator(".mass-preview tbody tr")).to_have_count(2)
    page.get_by_role("button", name=re.compile(r"Place 2 orders")).click()

    page.wait_for_url(re.compile(r"/presets/\d+/applied/\?form="))
    expect(page.locator("h2")).to_contain_text("2 orders placed")
    orders = list(Order.objects.order_by("pk"))
    assert [order.link for order in orders] == ["https://instagram.com/p/one", "https://instagram.com/p/two"]
    assert all(order.status != OrderStatus.AWAITING_APPROVAL for order in orders)
    for order in orders:
        expect(page.get_by_role("link", name=order.code)).to_be_visible()
