"""Every page at phone width (390 × 844): nothing runs off the side, the menu reaches every link,
tables scroll inside their card, buttons are large enough to tap, and the approver's buttons come
first on the order page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order, OrderStatus
from tests.factories import PlainServiceFactory, a_real_provider, client_of
from tests.reports.conftest import an_order
from tests.team.test_permissions import MAY, RULES

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TAP = 44  # CSS pixels: the smallest comfortable touch target (WCAG 2.5.5, Apple's guidelines)

# What a phone cannot show: the page wider than the screen, a table cut off by its card instead
# of scrolling inside it, a control smaller than a fingertip.
LAYOUT_PROBLEMS = """
(tap) => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`the page scrolls sideways: ${root.scrollWidth}px on a ${root.clientWidth}px screen`);
  }
  const edgeOf = (element) => element.getBoundingClientRect().right;
  const scrolls = (element) => ["auto", "scroll"].includes(getComputedStyle(element).overflowX);
  for (const table of document.querySelectorAll("main table")) {
    if (!table.checkVisibility()) continue;
    let box = table.parentElement;
    while (box !== document.body && !scrolls(box)) box = box.parentElement;
    if (box !== document.body) {
      if (box.getBoundingClientRect().right > innerWidth + 1) {
        problems.push(`the scroll box of a table (${table.className}) runs off the screen`);
      }
    } else if (table.getBoundingClientRect().right > edgeOf(table.closest(".card") || root) + 1) {
      problems.push(`a table (${table.className}) runs out of its card with no scroll box`);
    }
  }
  for (const svg of document.querySelectorAll("main figure svg")) {
    const rect = svg.getBoundingClientRect();
    const card = svg.closest(".card") || document.body;
    if (rect.right > card.getBoundingClientRect().right + 1) problems.push("a chart overflows its card");
  }
  const controls = "button, a.button, input[type=submit], summary, nav a";
  for (const control of document.querySelectorAll(controls)) {
    if (!control.checkVisibility()) continue;
    const rect = control.getBoundingClientRect();
    if (rect.height < tap || rect.width < tap) {
      const name = (control.innerText || control.getAttribute("aria-label") || control.title || "").trim();
      problems.push(`"${name.slice(0, 30)}" is ${Math.round(rect.width)}×${Math.round(rect.height)}px`);
    }
  }
  return problems;
}
"""


def phone(browser, live_server, user, **options: object):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, has_touch=True, **options)
    if user is not None:
        session = client_of(user).cookies["sessionid"].value
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    return context


# What htmx fetches into a page, not pages of their own.
FRAGMENTS = {"catalog:sync_status", "orders:order_live", "orders:order_statuses", "notifications:bell"}


def pages_of(persona: str, world: dict[str, object]) -> list[str]:
    """The pages the permission walk opens for this persona (its list of every URL)."""
    return [
        reverse(name, kwargs={key: world[value] for key, value in kwargs.items()})
        for name, (method, right, kwargs, _data) in RULES.items()
        if method == "get"
        and not name.endswith("_export")
        and name not in FRAGMENTS
        and right in MAY[persona]
    ]


def open_menu(page) -> None:
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")


@pytest.fixture
def spending(people) -> None:
    """Money spent this month and these 30 days: the dashboard's and the report's charts draw bars."""
    service = PlainServiceFactory(provider=a_real_provider())
    for days_ago in (0, 3):
        day = timezone.now() - timedelta(days=days_ago)
        month = day.date().replace(day=1)
        an_order(service, estimate="12.50", charge="12.50", day=day.day, month=month, user=people["buyer"])


@pytest.mark.parametrize("persona", ["viewer", "buyer", "approver", "manager"])
def test_every_page_fits_a_phone_and_its_menu_reaches_every_link(
    persona, people, world, spending, browser, live_server
):
    context = phone(browser, live_server, people[persona])
    page = context.new_page()
    problems: list[str] = []
    urls = pages_of(persona, world)
    charts = 0
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        charts += page.locator("main figure svg").count()
        open_menu(page)
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        assert links.count() >= 4
        for link in links.all():
            expect(link).to_be_in_viewport()
            link.click(trial=True)  # visible, enabled, and nothing covers it
        problems += [f"{url}: {problem}" for problem in page.evaluate(LAYOUT_PROBLEMS, TAP)]
        logout = page.get_by_role("button", name="Log out")
        expect(logout).to_be_in_viewport()
        logout.click(trial=True)
    context.close()
    assert len(urls) >= 10
    assert charts >= 3  # the dashboard's spend, the report's two: each checked against its card
    assert problems == [], "\n".join(problems)


def test_the_menu_opens_and_closes_from_the_keyboard_and_each_link_leads_to_its_page(
    people, world, browser, live_server
):
    page = phone(browser, live_server, people["manager"]).new_page()
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    assert {"Presets", "Reports", "Team"} <= set(nav.get_by_role("link").all_inner_texts())
    hrefs = [link.get_attribute("href") for link in nav.get_by_role("link").all()]
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    for href in hrefs:
        page.goto("/")
        open_menu(page)
        with page.expect_navigation(), page.expect_request(f"**{href}"):
            nav.locator(f'a[href="{href}"]').click()


def test_without_javascript_the_links_wrap_on_a_phone_instead_of_running_off_it(
    people, world, browser, live_server
):
    page = phone(browser, live_server, people["manager"], java_script_enabled=False).new_page()
    page.goto("/")
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert links.count() >= 7
    for link in links.all():
        expect(link).to_be_in_viewport()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_on_a_phone_the_approver_sees_approve_and_decline_on_the_first_screen(
    people, followers, browser, live_server
):
    followers.name = "Instagram Followers [Real, Refill 30 days, Max 100K] — Start 0-1 hour, speed 10K/day"
    followers.save(update_fields=["name"])
    order = Order.objects.create(
        provider=followers.provider,
        service=followers,
        user=people["buyer"],
        link="https://instagram.com/p/a-very-long-post-address-that-does-not-break-by-itself-0123456789",
        quantity=5000,
        estimated_charge=Decimal("250.00"),
        status=OrderStatus.AWAITING_APPROVAL,
    )
    page = phone(browser, live_server, people["approver"]).new_page()
    page.goto(reverse("orders:order_detail", args=[order.code]))
    assert page.evaluate(LAYOUT_PROBLEMS, TAP) == []
    for button in (page.get_by_role("button", name="Approve"), page.get_by_role("button", name="Decline")):
        expect(button).to_be_in_viewport(ratio=1)
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["y"] + box["height"] <= PHONE["height"]
        assert box["height"] >= TAP
    page.get_by_role("textbox", name="Reason").fill("Too many at once")
    page.get_by_role("button", name="Decline").click()
    expect(page.locator("#order-status")).to_have_text("Declined")
