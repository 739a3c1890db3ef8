"""People: managers add people with one role, change them, deactivate them, never delete them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from catalog.models import Service
from jappanel.web.money import money
from orders.models import Order, OrderStatus
from orders.services.spend import budget_spent
from team.models import Budget
from team.services import PersonInvalid, person_update
from tests.factories import PASSWORD, a_real_provider, client_of, person

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW_PASSWORD = "plum-kettle-orbit-42"


def entries(action: str, about=None) -> list[AuditEntry]:
    found = AuditEntry.objects.filter(action=action).order_by("at", "id")
    return list(found.filter(target_id=str(about.pk)) if about is not None else found)


def new_person(**changes: str) -> dict[str, str]:
    return {
        "username": "sam",
        "first_name": "Sam",
        "last_name": "Lee",
        "email": "sam@example.com",
        "role": "Buyer",
        "password": NEW_PASSWORD,
        "budget": "",
        "currency": "USD",
        "your_password": PASSWORD,
        **changes,
    }


def edit(target, **changes: object) -> dict[str, object]:
    role = target.groups.filter(name__in=["Viewer", "Buyer", "Approver", "Manager"]).first()
    data = {
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "role": role.name if role else "",
        "active": "on" if target.is_active else "",
        "password": "",
        "your_password": PASSWORD,
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


def test_a_manager_adds_a_person_with_one_role_and_a_budget_each_audited_once(manager):
    response = client_of(manager).post(
        reverse("team:person_create"), new_person(budget="100", currency="usd"), REMOTE_ADDR="192.0.2.5"
    )
    assert response.status_code == 302
    sam = User.objects.get(username="sam")
    assert sam.check_password(NEW_PASSWORD) and sam.is_active and not sam.is_staff
    assert list(sam.groups.values_list("name", flat=True)) == ["Buyer"]
    assert (sam.budget.amount, sam.budget.currency) == (Decimal("100"), "USD")
    [created] = entries(AuditAction.USER_CREATED, about=sam)
    [roles] = entries(AuditAction.USER_ROLES, about=sam)
    [budget] = entries(AuditAction.BUDGET_CHANGED)
    for entry in (created, roles, budget):
        assert (entry.actor, entry.ip) == (manager, "192.0.2.5")
    assert (roles.before, roles.after) == ({"groups": []}, {"groups": ["Buyer"]})
    assert created.after["email"] == "sam@example.com"
    assert NEW_PASSWORD not in json.dumps(list(AuditEntry.objects.values()), default=str)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
        ("samlee-sam", "The password is too similar to the username."),
    ],
)
def test_the_initial_password_must_pass_djangos_password_validators(manager, password, message):
    already = AuditEntry.objects.count()
    response = client_of(manager).post(
        reverse("team:person_create"), new_person(username="samlee", password=password)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="samlee").exists()
    assert AuditEntry.objects.count() == already


def test_a_taken_username_an_unknown_role_and_a_bad_email_are_refused_with_a_message(manager):
    person("Sam", "Viewer")
    client = client_of(manager)
    page = client.post(reverse("team:person_create"), new_person(username="sam")).content.decode()
    assert "A person with this username already exists." in page
    page = client.post(reverse("team:person_create"), new_person(role="Superuser")).content.decode()
    assert "Select a valid choice. Superuser is not one of the available choices." in page
    page = client.post(reverse("team:person_create"), new_person(email="not-an-email")).content.decode()
    assert "Enter a valid email address." in page
    page = client.post(reverse("team:person_create"), new_person(budget="-1")).content.decode()
    assert "Ensure this value is greater than or equal to 0." in page
    assert User.objects.filter(username__iexact="sam").count() == 1


def test_a_role_change_is_exactly_one_audit_entry_and_other_groups_stay(manager):
    buyer = person("buyer", "Buyer")
    newsletter = Group.objects.create(name="Newsletter")
    buyer.groups.add(newsletter)
    already = AuditEntry.objects.count()
    response = client_of(manager).post(
        reverse("team:person_edit", args=[buyer.pk]), edit(buyer, role="Approver"), REMOTE_ADDR="192.0.2.6"
    )
    assert response.status_code == 302
    assert sorted(buyer.groups.values_list("name", flat=True)) == ["Approver", "Newsletter"]
    new = list(AuditEntry.objects.order_by("id"))[already:]
    assert [entry.action for entry in new] == [AuditAction.USER_ROLES]
    assert (new[0].actor, new[0].ip, new[0].target_id) == (manager, "192.0.2.6", str(buyer.pk))
    assert (new[0].before, new[0].after) == (
        {"groups": ["Buyer", "Newsletter"]},
        {"groups": ["Approver", "Newsletter"]},
    )


def test_saving_a_person_unchanged_records_nothing(manager):
    buyer = person("buyer", "Buyer")
    already = AuditEntry.objects.count()
    assert (
        client_of(manager).post(reverse("team:person_edit", args=[buyer.pk]), edit(buyer)).status_code == 302
    )
    assert AuditEntry.objects.count() == already


def test_a_deactivated_person_cannot_sign_in_and_the_change_is_one_entry(manager):
    buyer = person("buyer", "Buyer")
    already = AuditEntry.objects.count()
    data = edit(buyer, active=None, email="new@example.com")
    assert client_of(manager).post(reverse("team:person_edit", args=[buyer.pk]), data).status_code == 302
    buyer.refresh_from_db()
    assert not buyer.is_active and User.objects.filter(pk=buyer.pk).exists()
    new = list(AuditEntry.objects.order_by("id"))[already:]
    assert [entry.action for entry in new] == [AuditAction.USER_CHANGED]
    assert (new[0].before, new[0].after) == (
        {"email": "buyer@example.com", "is_active": True},
        {"email": "new@example.com", "is_active": False},
    )
    signin = Client().post("/accounts/login/", {"username": "buyer", "password": PASSWORD})
    assert signin.status_code == 200 and "_auth_user_id" not in signin.client.session
    page = client_of(manager).get(reverse("team:person_list")).content.decode()
    assert "deactivated" in page


def test_a_new_password_is_validated_then_set_and_recorded_without_itself(manager):
    buyer = person("buyer", "Buyer")
    client = client_of(manager)
    url = reverse("team:person_edit", args=[buyer.pk])
    page = client.post(url, edit(buyer, password="buyer1")).content.decode()
    assert "This password is too short." in page and "too similar to the username" in page
    buyer.refresh_from_db()
    assert buyer.check_password(PASSWORD)
    assert client.post(url, edit(buyer, password=NEW_PASSWORD)).status_code == 302
    buyer.refresh_from_db()
    assert buyer.check_password(NEW_PASSWORD)
    [changed] = entries(AuditAction.USER_CHANGED)
    assert (changed.note, changed.actor) == ("Password changed.", manager)
    assert NEW_PASSWORD not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_a_manager_can_neither_deactivate_nor_demote_themselves(manager):
    client = client_of(manager)
    url = reverse("team:person_edit", args=[manager.pk])
    assert "This is you" in client.get(url).content.decode()
    already = AuditEntry.objects.count()
    page = client.post(url, edit(manager, active=None)).content.decode()
    assert "You cannot deactivate yourself: ask another manager." in page
    page = client.post(url, edit(manager, role="Buyer")).content.decode()
    assert "You cannot change your own role: ask another manager." in page
    manager.refresh_from_db()
    assert manager.is_active and list(manager.groups.values_list("name", flat=True)) == ["Manager"]
    assert AuditEntry.objects.count() == already


def test_the_service_refuses_self_demotion_too_and_records_the_given_actor_outside_a_request(manager):
    with pytest.raises(PersonInvalid) as refused:
        person_update(
            person=manager,
            email="",
            first_name="",
            last_name="",
            role="Viewer",
            active=True,
            user=manager,
            ip=None,
        )
    assert refused.value.errors == {"role": "You cannot change your own role: ask another manager."}
    buyer = person("buyer", "Buyer")
    person_update(
        person=buyer, email="b@example.com", first_name="B", last_name="", role="Buyer", active=True,
        user=manager, ip="192.0.2.7",
    )  # fmt: skip
    [changed] = entries(AuditAction.USER_CHANGED)
    assert (changed.actor, changed.ip, changed.after) == (
        manager,
        "192.0.2.7",
        {"email": "b@example.com", "first_name": "B"},
    )


def test_changing_ones_own_password_keeps_one_signed_in(manager):
    client = client_of(manager)
    url = reverse("team:person_edit", args=[manager.pk])
    assert client.post(url, edit(manager, password=NEW_PASSWORD)).status_code == 302
    assert client.get(reverse("team:person_list")).status_code == 200


def test_a_superuser_is_shown_as_such_and_is_not_changed_here(manager, admin_user):
    client = client_of(manager)
    assert "Superuser (all rights)" in client.get(reverse("team:person_list")).content.decode()
    url = reverse("team:person_edit", args=[admin_user.pk])
    page = client.get(url).content.decode()
    assert "use the Django admin" in page and 'name="role"' not in page
    client.post(url, {"role": "Viewer", "email": "x@example.com", "first_name": "", "last_name": ""})
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.is_superuser and admin_user.email != "x@example.com"
    with pytest.raises(PersonInvalid):
        person_update(
            person=admin_user, email="", first_name="", last_name="", role="Viewer", active=True,
            user=manager, ip=None,
        )  # fmt: skip


def test_the_list_filters_by_role_searches_and_shows_budget_and_spend(manager):
    buyer = person("buyer", "Buyer", first_name="Robin")
    User.objects.filter(pk=person("approver", "Approver").pk).update(email="checks@example.org")
    person("newcomer")
    Budget.objects.create(user=buyer, amount=Decimal("40"), currency="USD")
    service = Service.objects.create(
        provider=a_real_provider(), service_id=9100, name="Followers", type="Default",
        category="Instagram Followers", rate=Decimal("1"), min_quantity=10, max_quantity=1000,
    )  # fmt: skip
    Order.objects.create(
        provider=service.provider, service=service, user=buyer, link="https://instagram.com/p/a",
        quantity=100, estimated_charge=Decimal("12.5"), status=OrderStatus.QUEUED,
    )  # fmt: skip
    client = client_of(manager)
    url = reverse("team:person_list")
    page = client.get(url).content.decode()
    assert "12.50 of 40.00 USD" in page and 'width="31"' in page  # 12.5 / 40 = 31.25 %
    page = client.get(url, {"role": "Buyer"}).content.decode()
    assert ">buyer</a>" in page and ">approver</a>" not in page
    page = client.get(url, {"role": "none"}).content.decode()
    assert ">newcomer</a>" in page and ">buyer</a>" not in page
    table = client.get(url, {"q": "checks@"}, headers={"HX-Request": "true"}).content.decode()
    assert table.lstrip().startswith('<div id="people-table"')
    assert ">approver</a>" in table and ">buyer</a>" not in table
    assert ">buyer</a>" in client.get(url, {"q": "robin"}).content.decode()


def test_the_team_link_leads_to_the_first_team_page_one_may_use(manager):
    campaigns_only = person("planner", "Viewer")
    campaigns_only.user_permissions.add(Permission.objects.get(codename="change_campaign"))
    assert ">Team</a>" in client_of(manager).get("/").content.decode()
    assert ">Team</a>" not in client_of(person("buyer", "Buyer")).get("/").content.decode()
    response = client_of(manager).get(reverse("team:index"))
    assert response["Location"] == reverse("team:person_list")
    response = client_of(campaigns_only).get(reverse("team:index"))
    assert response["Location"] == reverse("team:campaign_list")
    page = client_of(campaigns_only).get(reverse("team:campaign_list")).content.decode()
    assert ">Campaigns</a>" in page and ">People</a>" not in page
    page = client_of(manager).get(reverse("team:campaign_list")).content.decode()
    assert all(f">{tab}</a>" in page for tab in ("People", "Budgets", "Providers", "Campaigns"))


def test_people_pages_refuse_anyone_without_the_right(manager):
    approver = person("approver", "Approver")
    client = client_of(approver)
    assert client.get(reverse("team:person_list")).status_code == 403
    assert client.post(reverse("team:person_create"), new_person()).status_code == 403
    assert (
        client.post(reverse("team:person_edit", args=[manager.pk]), edit(manager, active=None)).status_code
        == 403
    )
    assert not User.objects.filter(username="sam").exists()
    manager.refresh_from_db()
    assert manager.is_active


def test_a_role_is_chosen_on_purpose(manager):
    newcomer = person("newcomer")
    client = client_of(manager)
    page = client.get(reverse("team:person_edit", args=[newcomer.pk])).content.decode()
    assert '<option value="" selected>Choose a role</option>' in page
    page = client.post(reverse("team:person_edit", args=[newcomer.pk]), edit(newcomer)).content.decode()
    assert "This field is required." in page
    assert not newcomer.groups.exists()


def test_the_people_page_reads_everyones_spend_in_one_query_and_agrees_with_budgets(
    manager, django_assert_max_num_queries
):
    service = Service.objects.create(
        provider=a_real_provider(), service_id=9100, name="Followers", type="Default",
        category="Instagram Followers", rate=Decimal("1"), min_quantity=10, max_quantity=1000,
    )  # fmt: skip
    buyers = [person(f"buyer{n}", "Buyer") for n in range(12)]
    for n, buyer in enumerate(buyers):
        Order.objects.create(
            provider=service.provider, service=service, user=buyer, link="https://instagram.com/p/a",
            quantity=300, remains=100, estimated_charge=Decimal("1.00001") * (n + 1),
            status=OrderStatus.PARTIAL,
        )  # fmt: skip
    client = client_of(manager)
    url = reverse("team:person_list")
    client.get(url)
    with django_assert_max_num_queries(12) as few:
        client.get(url, {"q": "buyer1"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    for buyer in buyers:
        spent = budget_spent(user=buyer, month=timezone.localdate(), currency="USD")
        assert spent > 0 and f"{money(spent)} USD" in page


def test_entering_ones_own_password_keeps_one_signed_in_when_its_stored_hash_is_upgraded(manager, settings):
    # A newer preferred hasher: checking the password re-hashes it, which changes the session's hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    client = client_of(manager)
    first = client.post(reverse("team:person_create"), new_person())
    assert first.status_code == 302 and first["Location"] == reverse("team:person_list")
    assert client.get(reverse("team:person_list")).status_code == 200
