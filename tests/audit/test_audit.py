"""The audit log: one entry per money action and per change of who may, and nothing can undo one."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from audit.models import AuditAction, AuditEntry, AuditImmutable
from audit.services import audit_record, client_ip, requester, requester_set
from orders.models import Order, OrderStatus
from orders.services.actions import order_cancel, refill_request
from orders.services.placing import order_place
from orders.services.submitting import order_submit
from orders.services.tracking import orders_check_now
from providers.models import Provider
from team.models import Campaign
from tests.factories import client_of, link, person

API_KEY = "sk-live-abcdef0123456789abcdef"
NEW_KEY = "sk-live-9876543210fedcba98765432"


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("at", "id"))


@pytest.mark.django_db(transaction=True)
def test_every_money_action_on_an_order_is_recorded_with_who_and_from_where(followers, settings):
    settings.BEHIND_HTTPS_PROXY = False
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    order = order_place(
        service=followers, link=link(1), quantity=followers.min_quantity, user=buyer, ip="198.51.100.7",
        enqueue=False,
    )  # fmt: skip
    placed = entries(AuditAction.ORDER_PLACED)
    assert [(e.actor, e.actor_name, e.ip, e.target_id) for e in placed] == [
        (buyer, "buyer", "198.51.100.7", str(order.pk))
    ]
    assert placed[0].after["quantity"] == followers.min_quantity

    order = order_submit(order_id=order.pk)
    sent = entries(AuditAction.ORDER_SENT)
    assert [(e.actor, e.who, e.after["provider_order_id"]) for e in sent] == [
        (None, "system", order.provider_order_id)
    ]

    orders_check_now(orders=[order], user=approver, ip="198.51.100.8")
    assert [e.actor for e in entries(AuditAction.ORDER_CHECK)] == [approver]
    order_cancel(order=order, user=buyer, ip="198.51.100.7")
    assert [e.target_id for e in entries(AuditAction.ORDER_CANCEL)] == [str(order.pk)]
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    order.refresh_from_db()
    refill_request(order=order, user=buyer, ip="198.51.100.7")
    assert [e.actor for e in entries(AuditAction.ORDER_REFILL)] == [buyer]

    unsure = order_place(service=followers, link=link(2), quantity=followers.min_quantity, enqueue=False)
    Order.objects.filter(pk=unsure.pk).update(status=OrderStatus.UNCONFIRMED)
    response = client_of(approver).post(
        reverse("orders:order_resolve", args=[unsure.code]), {"placed": "no"}, REMOTE_ADDR="192.0.2.44"
    )
    assert response.status_code == 302
    [resolved] = entries(AuditAction.ORDER_RESOLVED)
    assert (resolved.actor, resolved.ip) == (approver, "192.0.2.44")
    assert (resolved.before, resolved.after["status"]) == ({"status": "unconfirmed"}, "rejected")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        # Nobody in front: the connection's address, whatever the client wrote.
        (0, "203.0.113.1, 10.0.0.1", "10.0.0.2"),
        # One proxy: the hop it added; what the client wrote before it is not trusted.
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "", "10.0.0.2"),  # straight to the app, past the proxy (a probe inside the network)
        # Two proxies: the hop the outer one added.
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.1", "203.0.113.1"),
        (2, "203.0.113.1", "203.0.113.1"),
        # A hop that is not an address is never stored as one.
        (1, "6.6.6.6, not-an-address", None),
        (1, "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_the_address_is_the_hop_added_by_the_outermost_trusted_proxy_never_one_the_client_wrote(
    settings, proxies, forwarded, address
):
    settings.BEHIND_HTTPS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == address


def test_a_forged_forwarded_hop_never_reaches_the_audit_log(db, settings):
    settings.BEHIND_HTTPS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1
    manager = person("manager", "Manager")
    client = client_of(manager)
    response = client.post(
        reverse("team:campaign_create"),
        {"name": "Spring", "currency": "USD", "active": "on"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="not-an-address, 198.51.100.4",
    )
    assert response.status_code == 302
    assert AuditEntry.objects.get(action=AuditAction.CAMPAIGN_CHANGED).ip == "198.51.100.4"


def test_a_provider_and_key_change_is_recorded_and_no_key_ever_reaches_the_log(admin_client, db):
    url = reverse("admin:providers_provider_add")
    form = {"name": "JAP", "api_url": "https://panel.example/api/v2", "currency": "USD", "active": "on"}
    assert admin_client.post(url, {**form, "api_key": API_KEY}).status_code == 302
    provider = Provider.objects.get(name="JAP")
    change = reverse("admin:providers_provider_change", args=[provider.pk])
    assert admin_client.post(change, {**form, "api_key": NEW_KEY, "currency": "EUR"}).status_code == 302
    [created] = entries(AuditAction.PROVIDER_CREATED)
    # The new real provider switched the sandbox's off, which is recorded too.
    sandbox_off, changed = entries(AuditAction.PROVIDER_CHANGED)
    assert (sandbox_off.target_label, sandbox_off.after) == ("Sandbox", {"active": False})
    [key] = entries(AuditAction.PROVIDER_KEY_CHANGED)
    assert created.actor_name == changed.actor_name == key.actor_name == "admin"
    assert (changed.before, changed.after) == ({"currency": "USD"}, {"currency": "EUR"})
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    for secret in (API_KEY, NEW_KEY, API_KEY[-4:], NEW_KEY[-4:]):
        assert secret not in everything


def test_secret_looking_values_are_masked_whatever_the_caller_passes(db):
    entry = audit_record(
        action=AuditAction.PROVIDER_CHANGED, after={"api_key": API_KEY, "nested": {"token": "t"}}
    )
    assert entry.after == {"api_key": "••••", "nested": {"token": "••••"}}


def test_role_and_user_changes_are_recorded_with_the_person_making_them(db, admin_user):
    user = person("sam")
    request = RequestFactory().post("/admin/", REMOTE_ADDR="192.0.2.9")
    request.user = admin_user
    with requester_set(request):
        user.groups.add(Group.objects.get(name="Buyer"))
        user.is_staff = True
        user.save()
    assert requester().actor is None
    [roles] = entries(AuditAction.USER_ROLES)
    assert (roles.actor, roles.ip, roles.before, roles.after) == (
        admin_user,
        "192.0.2.9",
        {"groups": []},
        {"groups": ["Buyer"]},
    )
    [changed] = entries(AuditAction.USER_CHANGED)
    assert (changed.before, changed.after) == ({"is_staff": False}, {"is_staff": True})
    Group.objects.get(name="Viewer").permissions.clear()
    assert entries(AuditAction.GROUP_PERMISSIONS)[0].after == {"permissions": []}


def test_a_login_alone_records_nothing(client, db):
    person("sam", "Viewer")
    before = AuditEntry.objects.count()
    assert (
        client.post("/accounts/login/", {"username": "sam", "password": "correct-horse-battery"}).status_code
        == 302
    )
    assert AuditEntry.objects.count() == before


def test_an_entry_cannot_be_changed_or_deleted_by_the_model(db):
    entry = audit_record(action=AuditAction.ORDER_CHECK, note="kept")
    entry.note = "changed"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.update(note="changed")
    assert AuditEntry.objects.get().note == "kept"


def test_the_admin_shows_the_log_but_not_even_a_superuser_can_add_change_or_delete(admin_client, db):
    entry = audit_record(action=AuditAction.ORDER_CHECK, note="kept")
    assert admin_client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    admin_client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {"note": "changed"})
    assert AuditEntry.objects.get(pk=entry.pk).note == "kept"


def test_the_audit_page_filters_searches_and_exports_what_it_shows(db):
    approver = person("approver", "Approver")
    audit_record(action=AuditAction.ORDER_CHECK, actor=approver, note="first look")
    audit_record(action=AuditAction.ORDER_CANCEL, note="second look")
    client = client_of(approver)
    page = client.get(reverse("audit:audit_list"), {"action": AuditAction.ORDER_CANCEL}).content.decode()
    assert "second look" in page and "first look" not in page
    page = client.get(reverse("audit:audit_list"), {"person": approver.pk}).content.decode()
    assert "first look" in page and "second look" not in page
    page = client.get(reverse("audit:audit_list"), {"q": "second"}).content.decode()
    assert "second look" in page and "first look" not in page
    table = client.get(reverse("audit:audit_list"), {"q": "first"}, headers={"HX-Request": "true"})
    assert table.content.decode().lstrip().startswith('<div id="audit-table"')
    export = client.get(reverse("audit:audit_export"), {"action": AuditAction.ORDER_CHECK})
    rows = export.getvalue().decode().splitlines()
    assert rows[0].startswith("at,action,who") and len(rows) == 2 and "first look" in rows[1]


def test_the_audit_csv_writes_names_and_notes_that_look_like_formulas_as_text(db):
    approver = person("approver", "Approver")
    campaign = Campaign.objects.create(name='=HYPERLINK("http://evil.example","x")')
    audit_record(action=AuditAction.CAMPAIGN_CHANGED, actor=approver, target=campaign, note="@SUM(1+1)")
    export = client_of(approver).get(reverse("audit:audit_export"), {"action": AuditAction.CAMPAIGN_CHANGED})
    (row,) = csv.DictReader(io.StringIO(export.getvalue().decode()))
    assert row["target"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["note"] == "'@SUM(1+1)"
