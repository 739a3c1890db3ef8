"""The curated shortlist: its three rules for buyers and approvers, its pages, and its audit trail."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from catalog.models import Service, ShortlistEntry, ShortlistRule, TeamPolicy
from catalog.services import shortlist_add, shortlist_remove, shortlist_save, team_policy_save
from orders.models import EventKind, Order, OrderStatus
from orders.services.common import OrderInvalid
from orders.services.mass import mass_order_parse, mass_order_place
from orders.services.placing import order_place
from providers.models import Provider
from tests.factories import PlainServiceFactory, client_of, person

NEW_ORDER_URL = reverse("orders:order_create")
CATALOG_URL = reverse("catalog:service_list")
SHORTLIST_URL = reverse("catalog:shortlist")
HTMX = {"HX-Request": "true"}

# Orders placed here go to the sandbox, on the settings of the order tests.
pytestmark = pytest.mark.usefixtures("order_settings")


def a_service(service_id: int, rate: str, name: str = "Followers") -> Service:
    return PlainServiceFactory(
        provider=Provider.objects.get(name="Sandbox"),
        service_id=service_id,
        name=f"{name} {service_id}",
        category="Instagram Followers",
        rate=Decimal(rate),
    )


@pytest.fixture
def listed(db) -> Service:
    """A service on the shortlist, dearer than `unlisted` so that ordering by rate alone differs."""
    service = a_service(501, "2.00", name="Premium followers")
    shortlist_add(service=service, house_name="IG followers — premium", tags="Instagram, Premium", user=None)
    return service


@pytest.fixture
def unlisted(db) -> Service:
    return a_service(502, "0.50", name="Cheap followers")


def rule(value: str) -> None:
    team_policy_save(policy=TeamPolicy(shortlist_rule=value), user=None)


def place(service: Service, user, n: int = 1) -> Order:
    return order_place(
        service=service, link=f"https://instagram.com/p/{n}", quantity=100, user=user, enqueue=False
    )


# The three rules ----------------------------------------------------------------------------------


def test_under_the_open_rule_anyone_orders_anything_and_nothing_waits(listed, unlisted):
    buyer = person("buyer", "Buyer")
    assert TeamPolicy.current().shortlist_rule == ShortlistRule.OPEN
    assert place(unlisted, buyer).status == OrderStatus.QUEUED
    assert place(listed, buyer, 2).status == OrderStatus.QUEUED


def test_under_the_approval_rule_a_buyers_order_off_the_shortlist_waits_and_says_why(listed, unlisted):
    rule(ShortlistRule.APPROVAL)
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")

    waiting = place(unlisted, buyer)
    assert waiting.status == OrderStatus.AWAITING_APPROVAL
    created = waiting.events.get(kind=EventKind.CREATED)
    assert created.message.endswith("waits for approval: not on the shortlist")

    assert place(listed, buyer, 2).status == OrderStatus.QUEUED
    assert place(unlisted, approver, 3).status == OrderStatus.QUEUED


def test_the_threshold_and_the_shortlist_are_both_named_when_both_hold(listed, unlisted, settings):
    settings.APPROVAL_THRESHOLD = Decimal("0.01")
    rule(ShortlistRule.APPROVAL)
    order = place(unlisted, person("buyer", "Buyer"))
    message = order.events.get(kind=EventKind.CREATED).message
    assert message.endswith("waits for approval: above the approval threshold and not on the shortlist")
    # The threshold alone keeps its short wording.
    assert place(listed, person("other", "Buyer"), 2).events.get().message.endswith("; waits for approval")


def test_under_the_only_rule_a_buyer_cannot_order_off_the_shortlist_but_an_approver_can(listed, unlisted):
    rule(ShortlistRule.ONLY)
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    admin = person("root", is_superuser=True)

    with pytest.raises(OrderInvalid) as refused:
        place(unlisted, buyer)
    message = refused.value.errors["service"]
    assert f"#{unlisted.service_id} is not on the team's shortlist" in message
    assert "Shortlist only" in message and "ask a manager" in message
    assert not Order.objects.filter(service=unlisted).exists()

    assert place(listed, buyer, 2).status == OrderStatus.QUEUED
    assert place(unlisted, approver, 3).status == OrderStatus.QUEUED
    assert place(unlisted, admin, 4).status == OrderStatus.QUEUED
    # A command run without --user is the operator, who has the server: not held to the list.
    assert place(unlisted, None, 5).status == OrderStatus.QUEUED


def test_a_mass_order_waits_line_by_line_under_approval_and_is_refused_whole_under_only(listed, unlisted):
    buyer = person("buyer", "Buyer")
    provider = listed.provider
    text = (
        f"{listed.service_id} | https://instagram.com/p/1 | 100\n"
        f"{unlisted.service_id} | https://instagram.com/p/2 | 100\n"
    )

    rule(ShortlistRule.APPROVAL)
    lines = mass_order_parse(text, provider=provider)
    orders = mass_order_place(lines=lines, provider=provider, token="mass-1", user=buyer, enqueue=False)
    assert [(o.service_id, o.status) for o in orders] == [
        (listed.pk, OrderStatus.QUEUED),
        (unlisted.pk, OrderStatus.AWAITING_APPROVAL),
    ]

    rule(ShortlistRule.ONLY)
    lines = mass_order_parse(text, provider=provider)
    with pytest.raises(OrderInvalid) as refused:
        mass_order_place(lines=lines, provider=provider, token="mass-2", user=buyer, enqueue=False)
    assert f"#{unlisted.service_id}" in refused.value.errors["service"]
    assert f"#{listed.service_id}" not in refused.value.errors["service"]
    assert Order.objects.count() == 2


def test_the_order_page_refuses_a_service_off_the_list_on_the_service_field_under_only(listed, unlisted):
    rule(ShortlistRule.ONLY)
    client = client_of(person("buyer", "Buyer"))
    form = {"link": "https://instagram.com/p/1", "quantity": "100", "submission_token": "page-1"}

    refused = client.post(NEW_ORDER_URL, {**form, "service": unlisted.pk})
    assert refused.status_code == 200
    assert "is not on the team&#x27;s shortlist" in refused.content.decode()
    assert not Order.objects.exists()

    placed = client.post(NEW_ORDER_URL, {**form, "service": listed.pk, "submission_token": "page-2"})
    assert placed.status_code == 302
    assert Order.objects.get().status == OrderStatus.QUEUED


def test_the_order_page_sends_an_off_list_order_to_approval_under_the_approval_rule(unlisted):
    rule(ShortlistRule.APPROVAL)
    client = client_of(person("buyer", "Buyer"))
    form = {"service": unlisted.pk, "link": "https://instagram.com/p/1", "quantity": "100"}
    response = client.post(NEW_ORDER_URL, {**form, "submission_token": "page-1"})
    order = Order.objects.get()
    assert response["Location"] == reverse("orders:order_detail", args=[order.code])
    assert order.status == OrderStatus.AWAITING_APPROVAL


def test_the_order_form_offers_the_shortlist_first_under_its_house_names(listed, unlisted):
    client = client_of(person("buyer", "Buyer"))
    page = client.get(NEW_ORDER_URL).content.decode()
    assert "The team's shortlist" in page and "IG followers — premium" in page

    picker = client.get(NEW_ORDER_URL, {"platform": "instagram", "category": "Instagram Followers"})
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', picker.content.decode())
    # Cheapest first otherwise, but the shortlisted one leads, under its house name, once.
    assert [int(pk) for pk, _ in options] == [listed.pk, unlisted.pk]
    assert options[0][1].startswith("★ IG followers — premium")


# Audit -----------------------------------------------------------------------------------------------


def test_every_change_of_the_shortlist_and_of_the_policy_is_audited_with_before_and_after(unlisted):
    manager = person("manager", "Manager")
    entry = shortlist_add(
        service=unlisted, house_name="Cheap IG", tags="IG, ig , cheap", user=manager, ip="10.0.0.1"
    )
    assert entry.tags == "ig, cheap" and entry.tag_list == ["ig", "cheap"] and entry.added_by == manager

    entry.notes = "Slow but steady"
    shortlist_save(entry=entry, user=manager)
    shortlist_remove(entry=ShortlistEntry.objects.get(), user=manager)
    team_policy_save(policy=TeamPolicy(shortlist_rule=ShortlistRule.ONLY), user=manager)
    team_policy_save(policy=TeamPolicy(shortlist_rule=ShortlistRule.ONLY), user=manager)

    ours = (AuditAction.SHORTLIST_CHANGED, AuditAction.TEAM_POLICY_CHANGED)
    entries = list(AuditEntry.objects.filter(action__in=ours).order_by("id"))
    assert [e.action for e in entries] == [AuditAction.SHORTLIST_CHANGED] * 3 + [
        AuditAction.TEAM_POLICY_CHANGED
    ]
    added, edited, removed, policy = entries
    assert added.before is None and added.after["house_name"] == "Cheap IG" and added.ip == "10.0.0.1"
    assert added.after["service"] == unlisted.service_id and added.actor_name == "manager"
    assert (edited.before["notes"], edited.after["notes"]) == ("", "Slow but steady")
    assert removed.before["house_name"] == "Cheap IG" and removed.after is None
    assert (policy.before, policy.after) == ({"shortlist_rule": "open"}, {"shortlist_rule": "only"})
    assert not ShortlistEntry.objects.exists()


# The catalog ----------------------------------------------------------------------------------------


def listed_ids(response) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="service-id">(\d+)</span>', response.content.decode())]


def test_the_catalog_lists_shortlisted_services_first_with_a_badge_and_the_house_name(listed, unlisted):
    dearest = a_service(503, "3.00")
    client = client_of(person("buyer", "Buyer"))
    response = client.get(CATALOG_URL)
    assert listed_ids(response)[:3] == [listed.service_id, unlisted.service_id, dearest.service_id]
    html = response.content.decode()
    assert 'class="badge shortlisted"' in html and "IG followers — premium" in html
    by_rate_down = client.get(CATALOG_URL, {"sort": "-rate"})
    assert listed_ids(by_rate_down)[:3] == [listed.service_id, dearest.service_id, unlisted.service_id]


@pytest.mark.parametrize(
    "query",
    [{"shortlisted": "true"}, {"tag": "premium"}, {"tag": "Instagram"}, {"q": "ig followers — prem"}],
)
def test_the_shortlist_filter_tags_and_house_names_find_the_shortlisted_service(listed, unlisted, query):
    response = client_of(person("buyer", "Buyer")).get(CATALOG_URL, query)
    assert listed_ids(response) == [listed.service_id]


def test_a_tag_matches_whole_tags_only(listed, unlisted):
    response = client_of(person("buyer", "Buyer")).get(CATALOG_URL, {"tag": "prem"})
    assert listed_ids(response) == []


@pytest.fixture
def sixty(db) -> tuple[list[Service], list[Service]]:
    """60 services, every other one shortlisted: (shortlisted, others), each cheapest first."""
    services = [a_service(600 + n, f"{1 + n / 100:.2f}") for n in range(60)]
    for service in services[1::2]:
        shortlist_add(service=service, house_name=f"House {service.service_id}", tags="a, b", user=None)
    return services[1::2], services[::2]


def test_pages_run_through_the_shortlisted_services_then_the_others_without_gap_or_repeat(sixty):
    shortlisted, others = sixty
    client = client_of(person("buyer", "Buyer"))
    pages = [listed_ids(client.get(CATALOG_URL, {"page": n})) for n in (1, 2, 3)]
    expected = [service.service_id for service in shortlisted + others]
    assert pages == [expected[:25], expected[25:50], expected[50:]]
    dearest_first = [listed_ids(client.get(CATALOG_URL, {"page": n, "sort": "-rate"})) for n in (1, 2, 3)]
    expected = [s.service_id for s in shortlisted[::-1] + others[::-1]]
    assert sum(dearest_first, []) == expected


def test_the_catalog_query_count_does_not_grow_with_the_shortlist(sixty, django_assert_max_num_queries):
    client = client_of(person("buyer", "Buyer"), **HTMX)
    # The catalog's own budget (9, tests/catalog/test_browse.py) and one more on the page where
    # the shortlisted services end and the others begin: their rows are read apart.
    for per_page in (25, 50, 100):
        with django_assert_max_num_queries(10):
            response = client.get(CATALOG_URL, {"per_page": per_page})
        assert len(listed_ids(response)) == min(per_page, 60)


# The managers' page and the panel ---------------------------------------------------------------------


def test_only_a_manager_sees_the_shortlist_page_and_the_link_to_it(listed):
    buyer, manager = client_of(person("buyer", "Buyer")), client_of(person("manager", "Manager"))
    assert buyer.get(SHORTLIST_URL).status_code == 403
    assert SHORTLIST_URL not in buyer.get(CATALOG_URL).content.decode()
    assert SHORTLIST_URL in manager.get(CATALOG_URL).content.decode()

    page = manager.get(SHORTLIST_URL).content.decode()
    assert "IG followers — premium" in page and f"#{listed.service_id}" in page
    assert 'value="open" checked' in page
    for value in ShortlistRule.values:
        assert f'id="rule-{value}"' in page


def test_the_shortlist_page_says_when_the_list_is_empty(db):
    page = client_of(person("manager", "Manager")).get(SHORTLIST_URL).content.decode()
    assert "The shortlist is empty" in page
    assert reverse("catalog:shortlist_export") not in page


def test_a_manager_changes_the_rule_on_the_page_and_a_wrong_value_is_a_message(db):
    manager = person("manager", "Manager")
    client = client_of(manager)
    response = client.post(reverse("catalog:team_policy_edit"), {"shortlist_rule": "only"})
    assert response.status_code == 302
    assert TeamPolicy.current().shortlist_rule == ShortlistRule.ONLY
    assert "Team policy saved: Shortlist only." in client.get(SHORTLIST_URL).content.decode()
    assert AuditEntry.objects.get(action=AuditAction.TEAM_POLICY_CHANGED).actor == manager

    wrong = client.post(reverse("catalog:team_policy_edit"), {"shortlist_rule": "anything"})
    assert wrong.status_code == 400
    assert "Select a valid choice" in wrong.content.decode()
    assert TeamPolicy.current().shortlist_rule == ShortlistRule.ONLY


def test_the_csv_export_has_one_row_per_entry(listed):
    response = client_of(person("manager", "Manager")).get(reverse("catalog:shortlist_export"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["house name", "service id", "service"]
    assert rows[1][:5] == [
        "IG followers — premium",
        str(listed.service_id),
        listed.name,
        "Sandbox",
        "2.00000",
    ]
    assert rows[1][6] == "instagram, premium"


def test_the_csv_export_writes_names_notes_and_tags_that_look_like_formulas_as_text(unlisted):
    shortlist_add(service=unlisted, house_name="=1+1", tags="+cmd", notes="\t=2+2", user=None)
    response = client_of(person("manager", "Manager")).get(reverse("catalog:shortlist_export"))
    (row,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert (row["house name"], row["tags"], row["notes"]) == ("'=1+1", "'+cmd", "'\t=2+2")


def test_a_manager_adds_edits_and_removes_a_shortlist_entry_in_the_panel_with_htmx(unlisted):
    client = client_of(person("manager", "Manager"), **HTMX)
    entry_url = reverse("catalog:service_shortlist", args=[unlisted.pk])

    panel = client.get(reverse("catalog:service_detail", args=[unlisted.pk])).content.decode()
    assert "Add to shortlist" in panel and "<html" not in panel

    form = client.get(entry_url, {"edit": "1"}).content.decode()
    assert 'name="house_name"' in form and "<html" not in form

    invalid = client.post(entry_url, {"house_name": "  ", "tags": "x"}).content.decode()
    assert "Give the service the name the team knows it by." in invalid
    assert not ShortlistEntry.objects.exists()

    saved = client.post(entry_url, {"house_name": "Cheap IG", "notes": "For tests", "tags": "Cheap, IG"})
    assert saved["HX-Trigger"] == "shortlist-changed"
    box = saved.content.decode()
    assert "Cheap IG" in box and "For tests" in box and "Remove" in box and "<html" not in box
    assert ShortlistEntry.objects.get(service=unlisted).tags == "cheap, ig"

    client.post(entry_url, {"house_name": "Cheap IG 2", "tags": ""})
    assert ShortlistEntry.objects.get(service=unlisted).house_name == "Cheap IG 2"

    removed = client.post(reverse("catalog:service_shortlist_remove", args=[unlisted.pk]))
    assert "Add to shortlist" in removed.content.decode()
    assert not ShortlistEntry.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.SHORTLIST_CHANGED).count() == 3


def test_a_buyer_sees_the_house_name_in_the_panel_but_cannot_change_the_entry(listed):
    buyer = client_of(person("buyer", "Buyer"), **HTMX)
    panel = buyer.get(reverse("catalog:service_detail", args=[listed.pk])).content.decode()
    assert "IG followers — premium" in panel and "On the team's shortlist" in panel
    assert "Remove" not in panel and "Edit" not in panel
    entry_url = reverse("catalog:service_shortlist", args=[listed.pk])
    assert buyer.post(entry_url, {"house_name": "Mine now"}).status_code == 403
    assert buyer.post(reverse("catalog:service_shortlist_remove", args=[listed.pk])).status_code == 403
    assert ShortlistEntry.objects.get().house_name == "IG followers — premium"


def test_without_javascript_the_panel_form_is_the_service_page_and_saving_redirects(unlisted):
    client = client_of(person("manager", "Manager"))
    entry_url = reverse("catalog:service_shortlist", args=[unlisted.pk])
    page = client.get(entry_url, {"edit": "1"}).content.decode()
    assert "<html" in page and 'name="house_name"' in page
    response = client.post(entry_url, {"house_name": "Cheap IG"})
    assert response["Location"] == reverse("catalog:service_detail", args=[unlisted.pk])


def test_the_admin_saves_entries_and_the_policy_through_the_audited_services(unlisted, admin_client):
    add = reverse("admin:catalog_shortlistentry_add")
    response = admin_client.post(add, {"service": unlisted.pk, "house_name": "From admin", "tags": "A, a"})
    assert response.status_code == 302
    assert ShortlistEntry.objects.get().tags == "a"
    assert AuditEntry.objects.get(action=AuditAction.SHORTLIST_CHANGED).after["house_name"] == "From admin"

    policies = admin_client.get(reverse("admin:catalog_teampolicy_changelist"))
    change = policies["Location"]
    assert admin_client.post(change, {"shortlist_rule": "approval"}).status_code == 302
    assert TeamPolicy.current().shortlist_rule == ShortlistRule.APPROVAL
    assert AuditEntry.objects.filter(action=AuditAction.TEAM_POLICY_CHANGED).count() == 1
