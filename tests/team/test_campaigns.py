"""Campaigns: managers keep them; orders belong to one, filter and export by it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from orders.models import Order
from orders.services.common import OrderInvalid
from orders.services.placing import order_place
from team.models import Campaign
from tests.factories import client_of, link, person

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_creates_and_edits_a_campaign_and_it_is_audited(db):
    manager = person("manager", "Manager")
    client = client_of(manager)
    data = {"name": "Spring", "client": "Acme", "currency": "USD", "monthly_budget": "300", "active": "on"}
    assert client.post(reverse("team:campaign_create"), data).status_code == 302
    spring = Campaign.objects.get()
    assert spring.monthly_budget == Decimal("300")
    client.post(reverse("team:campaign_edit", args=[spring.pk]), {**data, "monthly_budget": "250"})
    assert Campaign.objects.get().monthly_budget == Decimal("250")
    entries = AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_CHANGED).order_by("at", "id")
    assert [Decimal(entry.after["monthly_budget"]) for entry in entries] == [Decimal("300"), Decimal("250")]
    assert Decimal(entries[1].before["monthly_budget"]) == Decimal("300")
    listing = client.get(reverse("team:campaign_list")).content.decode()
    assert "Spring" in listing
    assert f'href="{reverse("reports:report")}?campaign={spring.pk}&amp;group=person"' in listing


def test_managers_restrict_a_campaign_to_the_members_they_choose_and_it_is_audited(db):
    manager, member = person("manager", "Manager"), person("member", "Buyer")
    client = client_of(manager)
    page = client.get(reverse("team:campaign_create")).content.decode()
    assert 'name="members_only"' in page and 'name="members"' in page
    data = {"name": "Secret", "currency": "USD", "active": "on", "members_only": "on", "members": [member.pk]}

    assert client.post(reverse("team:campaign_create"), data).status_code == 302

    secret = Campaign.objects.get()
    assert secret.members_only and list(secret.members.all()) == [member]
    entry = AuditEntry.objects.get(action=AuditAction.CAMPAIGN_CHANGED)
    assert entry.after["members"] == ["member"] and entry.after["members_only"] == "True"
    assert "members only" in client.get(reverse("team:campaign_list")).content.decode()


def test_a_campaign_that_ends_before_it_starts_is_refused(db):
    client = client_of(person("manager", "Manager"))
    data = {"name": "Odd", "currency": "USD", "starts_on": "2026-05-02", "ends_on": "2026-05-01"}
    response = client.post(reverse("team:campaign_create"), data)
    assert "ends before it starts" in response.content.decode()
    assert not Campaign.objects.exists()


def test_orders_of_a_campaign_are_filtered_exported_and_shown(followers):
    buyer = person("buyer", "Buyer")
    spring = Campaign.objects.create(name="Spring")
    ours = order_place(
        service=followers, link=link(1), quantity=100, user=buyer, campaign=spring, enqueue=False
    )
    other = order_place(service=followers, link=link(2), quantity=100, user=buyer, enqueue=False)
    client = client_of(buyer)
    listed = client.get(reverse("orders:order_list"), {"campaign": spring.pk}).content.decode()
    assert ours.code in listed and other.code not in listed
    export = client.get(reverse("orders:order_export"), {"campaign": spring.pk})
    rows = export.getvalue().decode().splitlines()
    assert rows[0].endswith("placed by,campaign,last error") and len(rows) == 2 and ",Spring," in rows[1]
    assert "Spring" in client.get(reverse("orders:order_detail", args=[ours.code])).content.decode()


def test_a_closed_or_finished_campaign_takes_no_order(followers):
    buyer = person("buyer", "Buyer")
    closed = Campaign.objects.create(name="Old", active=False)
    ended = Campaign.objects.create(name="Past", ends_on=timezone.localdate() - timedelta(days=1))
    for campaign in (closed, ended):
        with pytest.raises(OrderInvalid):
            order_place(
                service=followers, link=link(), quantity=100, user=buyer, campaign=campaign, enqueue=False
            )
    assert not Order.objects.exists()


def test_campaign_pages_are_for_managers_only(db):
    buyer = person("buyer", "Buyer")
    assert client_of(buyer).get(reverse("team:campaign_list")).status_code == 403
    assert client_of(buyer).post(reverse("team:campaign_create"), {"name": "x"}).status_code == 403


def test_members_chosen_in_the_admin_are_saved_and_audited(admin_client):
    member = person("member", "Buyer")
    data = {"name": "Secret", "currency": "USD", "active": "on", "members_only": "on", "members": [member.pk]}

    response = admin_client.post(reverse("admin:team_campaign_add"), data)

    assert response.status_code == 302
    assert list(Campaign.objects.get().members.all()) == [member]
    assert AuditEntry.objects.get(action=AuditAction.CAMPAIGN_CHANGED).after["members"] == ["member"]
