"""The bell, the inbox and the choices page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jappanel.events import Occurrence, announce
from notifications.models import Choice, Kind, Notification, Preference
from notifications.services.inbox import inbox as inbox_of
from orders.services.placing import order_place
from tests.factories import client_of, link, person

pytestmark = pytest.mark.django_db(transaction=True)


def waiting(followers, buyer, n: int = 1):
    return order_place(service=followers, link=link(n), quantity=1000, user=buyer, enqueue=False)


def test_the_bell_counts_what_is_unread(followers, django_assert_max_num_queries):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    client = client_of(approver)
    assert "data-unread" not in client.get(reverse("notifications:bell")).content.decode()

    waiting(followers, buyer, 1)
    waiting(followers, buyer, 2)

    # The session, the person and their permissions (5, as on every page), the heartbeats, the count.
    with django_assert_max_num_queries(8):
        bell = client.get(reverse("notifications:bell"), headers={"HX-Request": "true"}).content.decode()
    assert 'data-unread="2"' in bell
    # Every page's header carries the bell, which asks for the count once the page has loaded.
    assert 'hx-get="/notifications/bell/"' in client.get(reverse("dashboard")).content.decode()


def test_opening_a_notification_marks_it_read_and_goes_to_its_subject(followers):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    order = waiting(followers, buyer)
    notification = Notification.objects.get(user=approver)

    response = client_of(approver).get(reverse("notifications:notification_open", args=[notification.pk]))

    assert response.status_code == 302 and response["Location"] == f"/orders/{order.code}/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    # Someone else's notification is not theirs to open.
    other = client_of(buyer).get(reverse("notifications:notification_open", args=[notification.pk]))
    assert other["Location"] == reverse("notifications:notification_list")


def test_the_inbox_filters_by_kind_and_marks_all_read(followers):
    buyer, manager = person("buyer", "Buyer"), person("boss", "Manager")
    waiting(followers, buyer)
    announce(
        [
            Occurrence(
                "notify.direct",
                "x",
                {
                    "kind": Kind.HEALTH,
                    "key": "health:x",
                    "title": "The worker stopped",
                    "action": "manage_providers",
                },
            )
        ]
    )
    client = client_of(manager)

    page = client.get(reverse("notifications:notification_list"), {"kind": Kind.HEALTH}).content.decode()
    assert "The worker stopped" in page and "(0.90 USD) waits for approval" not in page
    client.post(reverse("notifications:read_all"), {"kind": Kind.HEALTH})
    assert list(
        Notification.objects.filter(user=manager, read_at__isnull=True).values_list("event__kind", flat=True)
    ) == [Kind.APPROVAL_REQUESTED]
    client.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    empty = client.get(reverse("notifications:notification_list"), {"unread": "1"}).content.decode()
    assert "Nothing fits these filters" in empty


def test_a_person_chooses_per_kind_and_the_defaults_are_not_stored(db):
    buyer = person("buyer", "Buyer")
    client = client_of(buyer)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "An order waits for approval" in page

    choices = {kind: Choice.INBOX for kind in Kind.values} | {Kind.ORDER_PARTIAL: Choice.OFF}
    response = client.post(reverse("notifications:preferences"), choices)

    assert response.status_code == 302
    stored = dict(Preference.objects.filter(user=buyer).values_list("kind", "choice"))
    assert stored[Kind.ORDER_PARTIAL] == Choice.OFF
    assert Kind.ORDER_REJECTED not in stored  # "in the product" is its default
    assert stored[Kind.APPROVAL_REQUESTED] == Choice.INBOX  # its default is email


def test_only_managers_set_the_teams_endpoints(db):
    buyer, manager = person("buyer", "Buyer"), person("boss", "Manager")
    assert client_of(buyer).get(reverse("notifications:endpoint_list")).status_code == 403
    assert client_of(manager).get(reverse("notifications:endpoint_list")).status_code == 200


def test_an_endpoint_inside_the_network_is_refused_unless_allowed(db, settings):
    settings.ALLOW_PRIVATE_PROVIDER_URLS = False
    manager = person("boss", "Manager")
    response = client_of(manager).post(
        reverse("notifications:endpoint_create"),
        {"name": "Ours", "type": "webhook", "url": "http://169.254.169.254/latest"},
    )
    assert "inside the network" in response.content.decode()


def test_a_person_removed_takes_their_copies_and_the_inbox_lists_the_newest_first(db):
    buyer, other = person("buyer", "Buyer"), person("other", "Buyer")
    announce(
        Occurrence(
            "notify.direct",
            f"news:{n}",
            {"kind": Kind.HEALTH, "key": f"news:{n}", "title": f"News {n}", "people": {buyer.pk, other.pk}},
        )
        for n in range(3)
    )
    titles = [n.event.title for n in inbox_of(buyer)]
    assert titles == ["News 2", "News 1", "News 0"]

    # No database key ties a copy to its person: the ORM's cascade removes them.
    buyer.delete()

    assert set(Notification.objects.values_list("user_id", flat=True)) == {other.pk}
