"""An endpoint's signing secret and URL (a chat hook's URL holds its token) at rest: encrypted
like the provider API keys, rotated with them, never shown back."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.template import Context, Template
from django.urls import reverse

from notifications.models import Delivery, Endpoint
from notifications.services.webhooks import delivery_attempt
from orders.services.placing import order_place
from tests.factories import client_of, link, person

pytestmark = pytest.mark.django_db(transaction=True)

CHAT_URL = "https://hooks.slack.com/services/T0001/B0002/chattokenXYZ9"
SECRET = "whsec-0123456789abcdef-known"
NEW_KEY = Fernet.generate_key().decode()


def stored_row(endpoint: Endpoint) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM notifications_endpoint WHERE id = %s", [endpoint.pk])
        return " ".join(str(value) for value in cursor.fetchone())


def test_the_database_holds_neither_the_secret_nor_the_chat_url():
    webhook = Endpoint.objects.create(
        name="Ours", type="webhook", url="https://tools.example.com/in", secret=SECRET
    )
    chat = Endpoint.objects.create(name="Chat", type="chat", url=CHAT_URL)

    assert SECRET not in stored_row(webhook) and "tools.example.com" not in stored_row(webhook)
    assert "chattokenXYZ9" not in stored_row(chat) and "hooks.slack.com" not in stored_row(chat)


def test_the_edit_page_and_templates_show_at_most_the_last_four_characters():
    chat = Endpoint.objects.create(name="Chat", type="chat", url=CHAT_URL, secret=SECRET)
    client = client_of(person("boss", "Manager"))

    for name in ("endpoint_edit", "endpoint_log"):
        page = client.get(reverse(f"notifications:{name}", args=[chat.pk])).content.decode()
        assert "chattokenXYZ9" not in page and "B0002" not in page and SECRET not in page
    page = client.get(reverse("notifications:endpoint_edit", args=[chat.pk])).content.decode()
    assert "••••XYZ9" in page
    rendered = Template("{{ e }} {{ e.url }} {{ e.secret }} {{ e.masked_url }} {{ e.masked_secret }}").render(
        Context({"e": chat})
    )
    assert "chattokenXYZ9" not in rendered + repr(chat) and SECRET not in rendered + repr(chat)
    assert (chat.url, chat.secret) == ("••••XYZ9", "••••nown")


def test_an_edit_without_a_url_keeps_the_stored_one_and_a_new_url_replaces_it():
    chat = Endpoint.objects.create(name="Chat", type="chat", url=CHAT_URL)
    client = client_of(person("boss", "Manager"))
    url = reverse("notifications:endpoint_edit", args=[chat.pk])

    client.post(url, {"name": "Team chat", "type": "chat", "url": ""})
    chat.refresh_from_db()
    assert (chat.name, chat._url()) == ("Team chat", CHAT_URL)

    client.post(url, {"name": "Team chat", "type": "chat", "url": "https://chat.example.com/hooks/newtoken"})
    chat.refresh_from_db()
    assert chat._url() == "https://chat.example.com/hooks/newtoken"


def test_a_new_endpoint_needs_a_url():
    client = client_of(person("boss", "Manager"))

    response = client.post(
        reverse("notifications:endpoint_create"), {"name": "Chat", "type": "chat", "url": ""}
    )

    assert response.status_code == 200 and not Endpoint.objects.exists()
    assert "This field is required." in response.content.decode()


def test_signing_verifies_after_the_encryption_keys_are_rotated(followers, receiver, settings):
    Endpoint.objects.create(name="Ours", type="webhook", url=receiver.url, secret=SECRET)
    receiver.secret = SECRET
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "re-encrypted 1 notification endpoint(s)" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    buyer = person("buyer", "Buyer")
    order_place(service=followers, link=link(1), quantity=1000, user=buyer, enqueue=False)
    delivery_attempt(delivery_id=Delivery.objects.get().pk)

    assert receiver.bad_signatures == 0 and Delivery.objects.get().status == "delivered"


def test_an_endpoint_that_cannot_be_decrypted_is_not_sent_to_and_says_why(followers, receiver, settings):
    Endpoint.objects.create(name="Ours", type="webhook", url=receiver.url, secret=SECRET)
    buyer = person("buyer", "Buyer")
    order_place(service=followers, link=link(1), quantity=1000, user=buyer, enqueue=False)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    assert delivery_attempt(delivery_id=Delivery.objects.get().pk) is not None

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and "cannot decrypt" in delivery.error


BEFORE = [("notifications", "0001_initial")]


@pytest.mark.usefixtures("back_to_the_latest")
def test_the_migration_encrypts_stored_rows_and_its_reverse_decrypts_them():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldEndpoint = executor.loader.project_state(BEFORE).apps.get_model("notifications", "Endpoint")
    old = OldEndpoint.objects.create(name="Chat", type="chat", url=CHAT_URL, secret=SECRET)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    endpoint = Endpoint.objects.get(pk=old.pk)
    assert (endpoint._url(), endpoint._secret()) == (CHAT_URL, SECRET)
    assert SECRET not in stored_row(endpoint) and "chattokenXYZ9" not in stored_row(endpoint)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldEndpoint = executor.loader.project_state(BEFORE).apps.get_model("notifications", "Endpoint")
    assert list(OldEndpoint.objects.values_list("url", "secret")) == [(CHAT_URL, SECRET)]


def test_the_secret_is_shown_once_at_creation_and_the_admin_never_shows_it(followers):
    client = client_of(person("boss", "Manager"))
    response = client.post(
        reverse("notifications:endpoint_create"),
        {"name": "Ours", "type": "webhook", "url": "https://tools.example.com/in"},
        follow=True,
    )
    endpoint = Endpoint.objects.get()
    assert f"shown once: {endpoint._secret()}" in response.content.decode()
    assert (
        endpoint._secret()
        not in client.get(reverse("notifications:endpoint_edit", args=[endpoint.pk])).content.decode()
    )

    buyer = person("buyer", "Buyer")
    order_place(service=followers, link=link(1), quantity=1000, user=buyer, enqueue=False)
    admin = client_of(person("root", is_superuser=True, is_staff=True))
    delivery = Delivery.objects.get()
    for url in (
        reverse("admin:notifications_delivery_changelist"),
        reverse("admin:notifications_delivery_change", args=[delivery.pk]),
    ):
        page = admin.get(url).content.decode()
        assert endpoint._secret() not in page and "tools.example.com" not in page
