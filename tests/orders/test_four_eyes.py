"""Four eyes: an approver never decides on the orders of someone who could be signed in as them
(who set their password) or who made them an approver, however the password or role was set;
and setting a password or a role asks for the manager's own password again."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from orders.filters import orders_to_decide
from orders.models import Order, OrderStatus
from orders.services.approvals import order_approve, order_decline
from orders.services.common import OrderActionError
from orders.services.placing import order_place
from orders.services.policy import may_decide, requesters_barred_for
from team.models import CredentialsSetBy
from team.services import person_create, person_update
from tests.factories import PASSWORD, client_of, link, person

NEW_PASSWORD = "plum-kettle-orbit-42"
OWN_PASSWORD = "my-very-own-secret-77"


@pytest.fixture(autouse=True)
def threshold(settings) -> None:
    settings.APPROVAL_THRESHOLD = Decimal("0.50")


def waiting_order(service, user, number: int = 1) -> Order:
    order = order_place(service=service, link=link(number), quantity=1000, user=user, enqueue=False)
    assert order.status == OrderStatus.AWAITING_APPROVAL
    return order


def edit(target, role: str, **changes: str) -> dict[str, str]:
    return {
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "role": role,
        "active": "on",
        "password": "",
        "your_password": PASSWORD,
        **changes,
    }


def reset_password(manager, target, role: str = "Approver") -> None:
    url = reverse("team:person_edit", args=[target.pk])
    assert client_of(manager).post(url, edit(target, role, password=NEW_PASSWORD)).status_code == 302
    target.refresh_from_db()


def set_own_password(target, old: str) -> None:
    client = client_of(target)
    data = {"old_password": old, "new_password1": OWN_PASSWORD, "new_password2": OWN_PASSWORD}
    assert client.post(reverse("password_change"), data).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_an_approver_whose_password_a_manager_reset_cannot_decide_on_that_managers_orders(followers):
    manager, approver, buyer = (
        person("boss", "Manager"),
        person("approver", "Approver"),
        person("buyer", "Buyer"),
    )
    reset_password(manager, approver)
    # The manager, now knowing the approver's password, orders above the threshold.
    theirs, other = waiting_order(followers, manager, 1), waiting_order(followers, buyer, 2)

    response = client_of(approver).post(reverse("orders:order_approve", args=[theirs.code]), follow=True)
    assert (
        "boss set your password or your role, so you cannot decide on their orders"
        in response.content.decode()
    )
    assert Order.objects.get(pk=theirs.pk).status == OrderStatus.AWAITING_APPROVAL
    with pytest.raises(OrderActionError, match="boss set your password or your role"):
        order_approve(order=theirs, user=approver)
    with pytest.raises(OrderActionError, match="boss set your password or your role"):
        order_decline(order=theirs, user=approver, reason="Mine to decide")
    page = client_of(approver).get(reverse("orders:order_detail", args=[theirs.code])).content.decode()
    assert "so you cannot decide on their orders" in page
    assert reverse("orders:order_approve", args=[theirs.code]) not in page
    assert list(orders_to_decide(approver)) == [other]
    dashboard = client_of(approver).get(reverse("dashboard")).content.decode()
    to_decide = dashboard.split('id="to-decide-title"')[1].split("</section>")[0]
    assert other.code in to_decide and theirs.code not in to_decide
    # Anyone else's orders, the approver decides as before.
    order_approve(order=other, user=approver)
    assert Order.objects.get(pk=other.pk).status == OrderStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_an_approver_a_manager_created_cannot_decide_on_that_managers_orders(followers):
    manager = person("boss", "Manager")
    data = {
        "username": "newcomer",
        "first_name": "",
        "last_name": "",
        "email": "",
        "role": "Approver",
        "password": NEW_PASSWORD,
        "budget": "",
        "currency": "USD",
        "your_password": PASSWORD,
    }
    assert client_of(manager).post(reverse("team:person_create"), data).status_code == 302
    newcomer = type(manager).objects.get(username="newcomer")
    order = waiting_order(followers, manager)
    assert not may_decide(newcomer, order)
    response = client_of(newcomer).post(
        reverse("orders:order_decline", args=[order.code]), {"reason": "fine by me"}, follow=True
    )
    assert "so you cannot decide on their orders" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_APPROVAL


def test_changing_the_password_a_manager_set_does_not_free_the_approver_but_another_managers_reset_does(db):
    # Whoever knew the password could have signed in as the approver to change it: only a
    # password set by someone else moves the bar (onto that person).
    boss, other_manager, approver = person("boss", "Manager"), person("deputy", "Manager"), person("approver")
    approver.groups.add(Group.objects.get(name="Approver"))
    reset_password(boss, approver)
    set_own_password(approver, NEW_PASSWORD)
    assert requesters_barred_for(approver) == {approver.pk, boss.pk}
    reset_password(other_manager, approver)
    assert requesters_barred_for(approver) == {approver.pk, other_manager.pk}


def test_a_role_given_by_a_manager_bars_them_only_until_the_approver_sets_their_own_password(db):
    boss, approver = person("boss", "Manager"), person("approver", "Buyer")
    url = reverse("team:person_edit", args=[approver.pk])
    assert client_of(boss).post(url, edit(approver, "Approver")).status_code == 302
    assert requesters_barred_for(approver) == {approver.pk, boss.pk}
    set_own_password(approver, PASSWORD)
    assert requesters_barred_for(approver) == {approver.pk}


def test_a_password_reset_by_mail_counts_as_set_by_whoever_set_the_email_address(
    client, db, email_configured, mailoutbox
):
    boss, approver = person("boss", "Manager"), person("approver", "Approver")
    # An email change needs no password: it is the reset link to that address that sets one.
    url = reverse("team:person_edit", args=[approver.pk])
    data = edit(approver, "Approver", email="boss-inbox@example.com", your_password="")
    assert client_of(boss).post(url, data).status_code == 302
    assert requesters_barred_for(approver) == {approver.pk}

    client.post("/accounts/password_reset/", {"email": "boss-inbox@example.com"})
    [mail] = mailoutbox
    form = client.get(re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.body).group(1), follow=True)
    new = {"new_password1": OWN_PASSWORD, "new_password2": OWN_PASSWORD}
    assert client.post(form.redirect_chain[-1][0], new).status_code == 302
    assert requesters_barred_for(approver) == {approver.pk, boss.pk}


def test_the_admin_is_for_superusers_and_what_they_set_there_counts_too(admin_client, admin_user):
    manager, approver = person("boss", "Manager", is_staff=True), person("approver", "Buyer")
    staff = client_of(manager)
    for name, args in (
        ("changelist", []),
        ("add", []),
        ("change", [approver.pk]),
        ("password_change", [approver.pk]),
    ):
        assert staff.get(reverse(f"admin:auth_user_{name}", args=args)).status_code == 403, name
    password = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    response = admin_client.post(reverse("admin:auth_user_password_change", args=[approver.pk]), password)
    assert response.status_code == 302
    approver.refresh_from_db()
    assert approver.check_password(NEW_PASSWORD)
    assert requesters_barred_for(approver) == {approver.pk, admin_user.pk}
    # A role given in the admin counts like one given in our pages (one given in a shell, with
    # nobody signed in, does not).
    approver.user_permissions.add(*Group.objects.get(name="Approver").permissions.all())
    assert CredentialsSetBy.objects.get(person=approver).role_by is None
    admin_client.post(
        reverse("admin:auth_user_change", args=[approver.pk]),
        {
            "username": "approver",
            "email": approver.email,
            "is_active": "on",
            "groups": [Group.objects.get(name="Approver").pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert list(approver.groups.values_list("name", flat=True)) == ["Approver"]
    assert CredentialsSetBy.objects.get(person=approver).role_by == admin_user


def test_setting_a_password_or_a_role_asks_for_the_managers_own_password(db):
    boss, buyer = person("boss", "Manager"), person("buyer", "Buyer")
    client = client_of(boss)
    url = reverse("team:person_edit", args=[buyer.pk])
    for changes, message in (
        (
            {"password": NEW_PASSWORD, "your_password": ""},
            "Enter your own password to set a password or a role.",
        ),
        ({"password": NEW_PASSWORD, "your_password": "a-guess"}, "That is not your password."),
    ):
        assert message in client.post(url, edit(buyer, "Buyer", **changes)).content.decode()
    page = client.post(url, edit(buyer, "Approver", your_password="")).content.decode()
    assert "Enter your own password to set a password or a role." in page
    buyer.refresh_from_db()
    assert buyer.check_password(PASSWORD) and list(buyer.groups.values_list("name", flat=True)) == ["Buyer"]
    # A name or an email is no password or role: nothing more to type.
    assert client.post(url, edit(buyer, "Buyer", first_name="Robin", your_password="")).status_code == 302
    add = {"username": "sam", "role": "Viewer", "password": NEW_PASSWORD, "currency": "USD"}
    page = client.post(reverse("team:person_create"), add).content.decode()
    assert "Enter your own password to set a password or a role." in page
    assert not type(boss).objects.filter(username="sam").exists()


def test_wrong_own_passwords_count_toward_the_sign_in_lockout(db, settings):
    boss, buyer = person("boss", "Manager"), person("buyer", "Buyer")
    client = client_of(boss)
    url = reverse("team:person_edit", args=[buyer.pk])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, edit(buyer, "Buyer", password=NEW_PASSWORD, your_password="a-guess"))
    assert (
        AccessAttempt.objects.filter(username="boss").get().failures_since_start
        == settings.AXES_FAILURE_LIMIT
    )
    page = client.post(url, edit(buyer, "Buyer", password=NEW_PASSWORD)).content.decode()
    assert "Too many failed logins" in page
    buyer.refresh_from_db()
    assert buyer.check_password(PASSWORD)
    assert Client().post("/accounts/login/", {"username": "boss", "password": PASSWORD}).status_code != 302


def test_who_set_what_before_the_upgrade_is_replayed_from_the_audit_log(db):
    boss, deputy = person("boss", "Manager"), person("deputy", "Manager")
    created = person_create(
        username="newcomer", email="n@example.com", first_name="", last_name="", role="Approver",
        password=NEW_PASSWORD, budget=None, currency="USD", user=boss, ip=None,
    )  # fmt: skip
    promoted = person("promoted", "Buyer")
    person_update(
        person=promoted, email=promoted.email, first_name="", last_name="", role="Approver", active=True,
        user=deputy, ip=None,
    )  # fmt: skip
    reset = person("reset", "Approver")
    person_update(
        person=reset, email=reset.email, first_name="", last_name="", role="Approver", active=True,
        password=NEW_PASSWORD, user=deputy, ip=None,
    )  # fmt: skip
    set_own_password(reset, NEW_PASSWORD)
    live = {
        row.pk: (row.password_by_id, row.role_by_id, row.email_by_id)
        for row in CredentialsSetBy.objects.all()
    }
    assert live[created.pk] == (boss.pk, boss.pk, boss.pk)
    assert live[promoted.pk] == (None, deputy.pk, None)
    assert live[reset.pk] == (deputy.pk, None, None)

    CredentialsSetBy.objects.all().delete()
    migration = importlib.import_module("team.migrations.0004_who_set_credentials")
    migration.replay_the_audit_log(apps, None)

    replayed = {
        row.pk: (row.password_by_id, row.role_by_id, row.email_by_id)
        for row in CredentialsSetBy.objects.all()
    }
    for pk in (created.pk, promoted.pk, reset.pk):
        assert replayed[pk] == live[pk]
