"""People and providers are deactivated, never deleted, and the audit log is append-only down to
the database: nothing that says who spent what can be made to disappear."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, models, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from audit.models import AuditAction, AuditEntry, AuditImmutable
from audit.services import audit_record
from orders.models import Order
from orders.services.placing import order_place
from providers.models import Provider
from team.models import Budget
from tests.factories import link, person


def test_the_database_itself_refuses_to_change_or_delete_an_audit_entry(db):
    entry = audit_record(action=AuditAction.ORDER_CHECK, note="evidence")
    if connection.vendor == "postgresql":
        # Past the model's guard (the plain QuerySet methods, raw SQL): the trigger refuses.
        attempts = [
            lambda: models.QuerySet.update(AuditEntry.objects.filter(pk=entry.pk), note="tidied"),
            lambda: models.QuerySet._raw_delete(AuditEntry.objects.filter(pk=entry.pk), "default"),
            lambda: connection.cursor().execute("UPDATE audit_auditentry SET note = 'tidied'"),
            lambda: connection.cursor().execute("DELETE FROM audit_auditentry"),
        ]
        for attempt in attempts:
            with pytest.raises(DatabaseError, match="the audit log is append-only"), transaction.atomic():
                attempt()
    else:
        # SQLite, the development default, has no trigger: every way the ORM offers is refused.
        attempts = [
            lambda: AuditEntry.objects.filter(pk=entry.pk).update(note="tidied"),
            lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
            lambda: AuditEntry.objects.get(pk=entry.pk).delete(),
            lambda: AuditEntry.objects.get(pk=entry.pk).save(),
        ]
        for attempt in attempts:
            with pytest.raises(AuditImmutable):
                attempt()
    assert AuditEntry.objects.get().note == "evidence"


@pytest.mark.django_db(transaction=True)
def test_deleting_a_person_is_refused_and_keeps_their_orders_budget_and_audit_entries(followers):
    buyer = person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("100"), currency="USD")
    order = order_place(
        service=followers, link=link(), quantity=followers.min_quantity, user=buyer, enqueue=False
    )
    audit_before = AuditEntry.objects.count()

    with pytest.raises(ProtectedError):
        buyer.delete()

    assert Order.objects.get(pk=order.pk).user == buyer
    assert Budget.objects.get(user=buyer).amount == Decimal("100")
    assert AuditEntry.objects.filter(actor=buyer).count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_deleting_a_person_with_only_a_budget_or_an_audit_entry_is_refused_too(db):
    with_budget, with_entry = person("kim"), person("sam")
    Budget.objects.create(user=with_budget, amount=Decimal("50"), currency="USD")
    audit_record(action=AuditAction.ORDER_CHECK, actor=with_entry)
    for someone in (with_budget, with_entry):
        with pytest.raises(ProtectedError):
            someone.delete()
    assert Budget.objects.filter(user=with_budget).exists()
    assert AuditEntry.objects.filter(actor=with_entry, actor_name="sam").exists()


def test_deleting_a_provider_never_takes_its_team_cap_with_it(db):
    provider = Provider.objects.create(name="Other panel", api_url="https://panel.example/api/v2")
    Budget.objects.create(provider=provider, amount=Decimal("500"), currency="USD")
    with pytest.raises(ProtectedError):
        provider.delete()
    assert Budget.objects.get(provider=provider).amount == Decimal("500")


def test_the_admin_offers_deactivation_not_deletion_of_people_providers_and_budgets(admin_client, admin_user):
    buyer = person("buyer", "Buyer")
    provider = Provider.objects.create(name="Other panel", api_url="https://panel.example/api/v2")
    budget = Budget.objects.create(user=buyer, amount=Decimal("10"), currency="USD")
    for name, obj in (("auth_user", buyer), ("providers_provider", provider), ("team_budget", budget)):
        change = admin_client.get(reverse(f"admin:{name}_change", args=[obj.pk])).content.decode()
        assert reverse(f"admin:{name}_delete", args=[obj.pk]) not in change, name
        assert admin_client.get(reverse(f"admin:{name}_delete", args=[obj.pk])).status_code == 403, name
        assert (
            admin_client.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code
            == 403
        )
        listing = admin_client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert 'value="delete_selected"' not in listing, name
        bulk = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        admin_client.post(reverse(f"admin:{name}_changelist"), bulk)
        assert type(obj).objects.filter(pk=obj.pk).exists(), name
    assert get_user_model().objects.filter(pk=buyer.pk, is_active=True).exists()
