"""The permission matrix: every URL of the project, for every persona, allowed or refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api.services import api_key_create
from catalog.models import Service
from jappanel.web.access import ROLES
from notifications.models import Delivery, Endpoint, Event
from orders.models import Order, OrderStatus, Refill
from presets.models import Preset
from providers.models import Provider
from team.models import Budget, Campaign
from tests.factories import PERSONAS, client_of, person

# What each persona may do; "act" is on the buyer's own order, made in `world`.
VIEWER = {"view_services", "view_orders", "view_refills", "view_reports"}
OTHER_BUYER = VIEWER | {"place_order", "manage_presets", "sync_catalog"}
MAY = {
    "viewer": VIEWER,
    "buyer": OTHER_BUYER | {"act"},
    "other_buyer": OTHER_BUYER,
    "approver": OTHER_BUYER | {"act", "resolve", "approve", "view_audit"},
    "outsider": set(),
    "anonymous": set(),
}
MAY["manager"] = MAY["approver"] | {
    "manage_campaigns",
    "manage_people",
    "manage_budgets",
    "manage_providers",
    "manage_shortlist",
}

# Every named URL: (method, the right it needs, arguments, posted data). A URL missing here and
# from PUBLIC fails test_every_url_has_a_rule: a new page cannot ship without deciding who sees it.
RULES = {
    "dashboard": ("get", "view_orders", {}, {}),
    "catalog:service_list": ("get", "view_services", {}, {}),
    "catalog:service_detail": ("get", "view_services", {"pk": "service"}, {}),
    "catalog:service_favourite": ("post", "view_services", {"pk": "service"}, {"starred": "1"}),
    "catalog:sync_now": ("post", "sync_catalog", {}, {}),
    "catalog:sync_status": ("get", "view_services", {}, {}),
    "catalog:service_shortlist": ("get", "manage_shortlist", {"pk": "service"}, {}),
    "catalog:service_shortlist_remove": ("post", "manage_shortlist", {"pk": "service"}, {}),
    "catalog:service_refill": ("post", "manage_shortlist", {"pk": "service"}, {"kind": "panel"}),
    "catalog:shortlist": ("get", "manage_shortlist", {}, {}),
    "catalog:team_policy_edit": ("post", "manage_shortlist", {}, {"shortlist_rule": "open"}),
    "catalog:shortlist_export": ("get", "manage_shortlist", {}, {}),
    "catalog:provider_record": ("get", "view_services", {"pk": "provider"}, {}),
    "catalog:change_list": ("get", "view_services", {}, {}),
    "catalog:change_export": ("get", "view_services", {}, {}),
    "orders:order_list": ("get", "view_orders", {}, {}),
    "orders:order_statuses": ("get", "view_orders", {}, {"codes": "order"}),
    "orders:order_export": ("get", "view_orders", {}, {}),
    "orders:order_bulk": ("post", "act", {}, {"order": "order", "action": "check"}),
    "orders:order_create": ("get", "place_order", {}, {}),
    "orders:order_estimate": ("post", "place_order", {}, {}),
    "orders:mass_order": ("get", "place_order", {}, {}),
    "orders:refill_list": ("get", "view_refills", {}, {}),
    "orders:refill_due_list": ("get", "view_refills", {}, {}),
    "orders:refill_due_export": ("get", "view_refills", {}, {}),
    "orders:refill_due_request": ("post", "act", {}, {"order": "order"}),
    "orders:order_detail": ("get", "view_orders", {"code": "order"}, {}),
    "orders:order_live": ("get", "view_orders", {"code": "order"}, {}),
    "orders:order_refill": ("post", "act", {"code": "order"}, {}),
    "orders:order_cancel": ("post", "act", {"code": "order"}, {}),
    "orders:order_stop_waiting": ("post", "act", {"code": "order"}, {}),
    "orders:order_check": ("post", "act", {"code": "order"}, {}),
    "orders:order_resolve": ("post", "resolve", {"code": "order"}, {"placed": "no"}),
    "orders:order_approve": ("post", "approve", {"code": "order"}, {}),
    "orders:order_decline": ("post", "approve", {"code": "order"}, {"reason": "no"}),
    "team:campaign_list": ("get", "manage_campaigns", {}, {}),
    "team:campaign_create": ("get", "manage_campaigns", {}, {}),
    "team:campaign_edit": ("get", "manage_campaigns", {"pk": "campaign"}, {}),
    "team:index": ("get", "manage_campaigns", {}, {}),
    "team:person_list": ("get", "manage_people", {}, {}),
    "team:person_create": ("get", "manage_people", {}, {}),
    "team:person_edit": ("get", "manage_people", {"pk": "person"}, {}),
    "team:budget_list": ("get", "manage_budgets", {}, {}),
    "team:budget_create": ("get", "manage_budgets", {}, {}),
    "team:budget_edit": ("get", "manage_budgets", {"pk": "budget"}, {}),
    "team:provider_list": ("get", "manage_providers", {}, {}),
    "team:provider_create": ("get", "manage_providers", {}, {}),
    "team:provider_edit": ("get", "manage_providers", {"pk": "provider"}, {}),
    "team:provider_refresh": ("post", "manage_providers", {"pk": "provider"}, {}),
    "audit:audit_list": ("get", "view_audit", {}, {}),
    "audit:audit_export": ("get", "view_audit", {}, {}),
    "presets:preset_list": ("get", "place_order", {}, {}),
    "presets:preset_create": ("get", "manage_presets", {}, {}),
    "presets:preset_edit": ("get", "manage_presets", {"pk": "preset"}, {}),
    "presets:preset_apply": ("get", "place_order", {"pk": "preset"}, {}),
    "presets:preset_applied": ("get", "view_orders", {"pk": "preset"}, {}),
    "presets:preset_archive": ("post", "manage_presets", {"pk": "preset"}, {}),
    "reports:report": ("get", "view_reports", {}, {}),
    "reports:report_export": ("get", "view_reports", {}, {}),
    # The team API's pages: everyone with a role has keys (a key acts with its owner's role);
    # the world's key is the manager's own, which only they (managing people) may revoke.
    "api:docs": ("get", "view_orders", {}, {}),
    "api:key_list": ("get", "view_orders", {}, {}),
    "api:key_revoke": ("post", "manage_people", {"pk": "api_key"}, {}),
    # Each person's own notifications: everyone with a role (all may see orders).
    "notifications:notification_list": ("get", "view_orders", {}, {}),
    "notifications:bell": ("get", "view_orders", {}, {}),
    "notifications:read_all": ("post", "view_orders", {}, {}),
    "notifications:preferences": ("get", "view_orders", {}, {}),
    "notifications:notification_open": ("get", "view_orders", {"pk": "event"}, {}),
    "notifications:endpoint_list": ("get", "manage_campaigns", {}, {}),
    "notifications:endpoint_create": ("get", "manage_campaigns", {}, {}),
    "notifications:endpoint_edit": ("get", "manage_campaigns", {"pk": "endpoint"}, {}),
    "notifications:endpoint_log": ("get", "manage_campaigns", {"pk": "endpoint"}, {}),
    "notifications:endpoint_enable": ("post", "manage_campaigns", {"pk": "endpoint"}, {}),
    "notifications:delivery_resend": ("post", "manage_campaigns", {"pk": "delivery"}, {}),
    "notifications:balance_alert_save": ("post", "manage_campaigns", {}, {}),
}
# Open to anyone by design: probes, the scraper (token), sign-in pages, the sandbox panel's API;
# the Django admin checks staff and model permissions itself (tested below).
PUBLIC_NAMESPACES = {"admin", "sandbox"}
PUBLIC = {
    "api:v2",  # answered with the key in the request, as JAP's API: tests/api
    "favicon",
    "healthz",
    "readyz",
    "metrics",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def url_names(patterns=None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_has_a_rule():
    names = {name for name in url_names() if name.split(":")[0] not in PUBLIC_NAMESPACES}
    assert names - set(RULES) - PUBLIC == set()


@pytest.fixture
def world(people) -> dict[str, object]:
    """An order of the buyer's (queued: every action answers without calling a panel)."""
    provider = Provider.objects.get(name="Sandbox")
    service = Service.objects.create(
        provider=provider,
        service_id=9001,
        name="Followers",
        type="Default",
        category="Instagram Followers",
        rate=Decimal("1.00"),
        min_quantity=10,
        max_quantity=1000,
    )
    order = Order.objects.create(
        provider=provider,
        service=service,
        user=people["buyer"],
        link="https://instagram.com/p/a",
        quantity=100,
        estimated_charge=Decimal("0.10"),
        status=OrderStatus.QUEUED,
    )
    campaign = Campaign.objects.create(name="Spring")
    budget = Budget.objects.create(user=people["buyer"], amount=Decimal("50"))
    # Its key cannot be decrypted: "Refresh balance" fails before sending anything anywhere.
    locked = Provider.objects.create(name="Locked", api_url="https://x.example/api/v2", api_key_encrypted="x")
    endpoint = Endpoint.objects.create(name="Ours", type="webhook", url="https://hooks.example.com/")
    event = Event.objects.create(kind="health", key="health:test", title="The worker stopped")
    return {
        "api_key": api_key_create(user=people["manager"], name="manager's script").key.pk,
        "endpoint": endpoint.pk,
        "event": event.pk,
        "delivery": Delivery.objects.create(endpoint=endpoint, event_ids=[event.pk]).pk,
        "order": order.code,
        "service": service.pk,
        "campaign": campaign.pk,
        "preset": Preset.objects.create(name="Weekly boost").pk,
        "person": people["buyer"].pk,
        "budget": budget.pk,
        "provider": locked.pk,
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_exactly_its_rights_on_every_url(persona, people, world):
    client = client_of(people[persona])
    wrong = []
    for name, (method, right, kwargs, data) in RULES.items():
        url = reverse(name, kwargs={key: world[value] for key, value in kwargs.items()})
        payload = {key: world.get(value, value) for key, value in data.items()}
        response = getattr(client, method)(url, payload)
        if persona == "anonymous":
            ok = response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif right in MAY[persona]:
            ok = 200 <= response.status_code < 400
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append((name, response.status_code))
    assert wrong == []


def test_a_buyer_cannot_act_on_another_buyers_order_but_an_approver_can(people, world):
    code = world["order"]
    other, approver = client_of(people["other_buyer"]), client_of(people["approver"])
    for name in ("orders:order_refill", "orders:order_cancel", "orders:order_check"):
        assert other.post(reverse(name, args=[code])).status_code == 403
        assert approver.post(reverse(name, args=[code])).status_code == 302
    assert other.post(reverse("orders:order_bulk"), {"order": code, "action": "cancel"}).status_code == 403
    assert other.post(reverse("orders:order_resolve", args=[code]), {"placed": "no"}).status_code == 403


def test_the_order_page_hides_the_buttons_a_person_cannot_use(people, world):
    Order.objects.filter(code=world["order"]).update(status=OrderStatus.UNCONFIRMED)
    url = reverse("orders:order_detail", args=[world["order"]])
    viewer_page = client_of(people["viewer"]).get(url).content.decode()
    approver_page = client_of(people["approver"]).get(url).content.decode()
    assert "It was placed" not in viewer_page and "Order again" not in viewer_page
    assert "It was placed" in approver_page and "Order again" in approver_page
    assert ">Audit</a>" not in viewer_page and ">Audit</a>" in approver_page


def test_a_refused_page_is_the_403_page_with_a_way_back_and_htmx_gets_one_line(people, world):
    viewer = people["viewer"]
    page = client_of(viewer).get(reverse("orders:order_create"))
    assert page.status_code == 403
    assert "Your role does not allow this" in page.content.decode()
    assert 'href="/"' in page.content.decode()
    fragment = client_of(viewer, **{"HX-Request": "true"}).post(
        reverse("orders:order_refill", args=[world["order"]])
    )
    assert fragment.status_code == 403
    body = fragment.content.decode()
    assert "Your role does not allow this" in body and "<html" not in body
    assert (fragment["HX-Retarget"], fragment["HX-Reswap"]) == ("main.content", "afterbegin")


def test_a_person_without_a_role_sees_only_that_they_have_none(people):
    response = client_of(people["outsider"]).get("/")
    assert response.status_code == 403
    assert "You have no role yet" in response.content.decode()


def test_the_roles_hold_exactly_the_permissions_of_access_roles(db):
    for name, codenames in ROLES.items():
        held = {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(name=name).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert held == set(codenames), name


def test_admin_actions_check_the_permission_not_only_the_menu(people, world, admin_user):
    staff_viewer = person("staffviewer", "Viewer", is_staff=True)
    staff_viewer.user_permissions.add(*Group.objects.get(name="Viewer").permissions.all())
    Order.objects.filter(code=world["order"]).update(status=OrderStatus.COMPLETED)
    order = Order.objects.get(code=world["order"])
    Service.objects.filter(pk=order.service_id).update(refill=True)
    url = reverse("admin:orders_order_changelist")
    payload = {"action": "request_refill", "_selected_action": [order.pk]}
    response = client_of(staff_viewer).post(url, payload)
    assert response.status_code in (200, 302)
    assert not Refill.objects.exists()
    change = reverse("admin:orders_order_change", args=[order.pk])
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNCONFIRMED)
    resolve = {"resolution": "not_placed", "resolved_provider_order_id": "", "resolution_note": ""}
    assert client_of(staff_viewer).post(change, resolve).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.UNCONFIRMED
    sandbox_topup = reverse("admin:sandbox_account_changelist")
    assert client_of(staff_viewer).post(sandbox_topup, {"action": "topup_100"}).status_code == 403
    assert client_of(admin_user).get(url).status_code == 200


WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.mark.browser
@pytest.mark.parametrize("persona", ["viewer", "buyer", "approver", "manager"])
def test_every_page_a_persona_may_open_loads_with_no_console_error_failed_request_or_csp_report(
    persona, people, world, browser, live_server
):
    client = client_of(people[persona])
    context = browser.new_context(base_url=live_server.url)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    problems: list[str] = []
    on = {"url": ""}

    def problem(text: str) -> None:
        problems.append(f"{on['url']}: {text}")

    page.on("console", lambda message: message.type == "error" and problem(message.text))
    # Leaving a page aborts what it still had in flight (the services page asks every second
    # how its sync goes): that is the browser's doing, not a failure of ours.
    page.on(
        "requestfailed",
        lambda request: (
            request.failure != "net::ERR_ABORTED" and problem(f"failed {request.url} {request.failure}")
        ),
    )
    page.on(
        "response", lambda response: response.status >= 400 and problem(f"{response.status} {response.url}")
    )
    visited = 0
    for name, (method, right, kwargs, _data) in RULES.items():
        # Downloads are not pages; what a persona may not open is the permission matrix's business.
        if method != "get" or name.endswith("_export") or right not in MAY[persona]:
            continue
        on["url"] = reverse(name, kwargs={key: world[value] for key, value in kwargs.items()})
        page.goto(on["url"])
        page.wait_for_load_state("networkidle")
        for report in page.evaluate("window.cspViolations"):
            problem(f"CSP {report}")
        visited += 1
    context.close()
    assert visited >= len(MAY[persona]) > 0
    assert problems == []
