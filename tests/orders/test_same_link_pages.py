"""Orders waiting for their link, as the pages show them: the order's page, the list, the previews."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from orders.models import EventKind, Order, OrderStatus
from orders.services.placing import order_place
from orders.services.submitting import order_submit
from presets.services import preset_preview
from tests.factories import link
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def person(client, admin_user):
    client.force_login(admin_user)
    return admin_user


def sent(service, number: int = 1) -> Order:
    order = order_place(service=service, link=link(number), quantity=100, enqueue=False)
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    return order


def test_the_page_of_a_waiting_order_names_the_order_ahead_with_a_link(client, person, followers):
    first, second = sent(followers), sent(followers)
    assert second.status == OrderStatus.WAITING_FOR_LINK

    body = client.get(reverse("orders:order_detail", args=[second.code])).content.decode()

    assert "Waiting for the link" in body
    assert f'href="{reverse("orders:order_detail", args=[first.code])}"' in body
    assert f"Waits behind {first.code}" in body  # the timeline's step
    assert reverse("orders:order_stop_waiting", args=[second.code]) in body


def test_a_person_cancels_a_waiting_order_from_its_page(client, person, followers):
    sent(followers)
    second = sent(followers)

    response = client.post(reverse("orders:order_stop_waiting", args=[second.code]), follow=True)

    second.refresh_from_db()
    assert second.status == OrderStatus.CANCELED and second.provider_order_id is None
    assert "nothing is charged" in response.content.decode()
    assert second.events.filter(kind=EventKind.CANCEL, user=person).exists()
    assert AuditEntry.objects.filter(action=AuditAction.ORDER_CANCEL, actor=person).count() == 1


def test_bulk_cancel_from_the_list_cancels_a_waiting_order_locally_like_its_page(client, person, followers):
    first = sent(followers)
    second, third = sent(followers), sent(followers)
    assert (second.status, third.status) == (OrderStatus.WAITING_FOR_LINK, OrderStatus.WAITING_FOR_LINK)
    # The button's question says what becomes of a waiting order.
    assert (
        "those waiting for their link are canceled here"
        in client.get(reverse("orders:order_list")).content.decode()
    )

    response = client.post(
        reverse("orders:order_bulk"), {"action": "cancel", "order": [second.code]}, follow=True
    )

    second.refresh_from_db()
    assert second.status == OrderStatus.CANCELED and second.provider_order_id is None
    assert "1 cancel accepted." in response.content.decode()
    assert second.events.filter(kind=EventKind.CANCEL, user=person).exists()
    [entry] = AuditEntry.objects.filter(action=AuditAction.ORDER_CANCEL)
    assert (entry.actor, entry.target_id, entry.after) == (
        person,
        str(second.pk),
        {"status": "canceled", "sent": False},
    )
    first.refresh_from_db()
    third.refresh_from_db()
    assert (first.status, third.status) == (OrderStatus.PENDING, OrderStatus.WAITING_FOR_LINK)


def test_canceling_an_order_that_no_longer_waits_says_why_and_changes_nothing(client, person, followers):
    first = sent(followers)

    body = client.post(reverse("orders:order_stop_waiting", args=[first.code]), follow=True).content.decode()

    assert "only an order waiting for its link can be canceled here" in body
    first.refresh_from_db()
    assert first.status == OrderStatus.PENDING


def test_the_list_filters_by_the_new_status(client, person, followers):
    sent(followers)
    second = sent(followers)
    other = sent(followers, number=2)

    body = client.get(reverse("orders:order_list"), {"status": "waiting_for_link"}).content.decode()

    assert second.code in body and other.code not in body
    assert "Waiting for the link" in body


def test_a_mass_order_preview_says_how_many_lines_will_wait(client, person, followers):
    sent(followers, number=1)
    text = "\n".join(
        [
            f"{followers.service_id} | {link(1)}/?utm_source=x | 100",  # an open order on it
            f"{followers.service_id} | {link(2)} | 100",
            f"{followers.service_id} | https://www.instagram.com/p/post2 | 100",  # the line above
            f"{followers.service_id} | {link(3)} | 100",
        ]
    )
    data = {"provider": followers.provider_id, "text": text, "submission_token": "m", "action": "preview"}

    body = client.post(reverse("orders:mass_order"), data).content.decode()

    assert "2 lines will wait behind open orders" in body
    assert body.count("Will wait</span>") == 2


def test_a_preset_preview_says_how_many_lines_will_wait(followers):
    sent(followers, number=1)
    preset = a_preset((followers, 100), (followers, 200))

    preview = preset_preview(preset=preset, links=[link(1), link(2)])

    # link 1: both lines wait (an open order); link 2: the second line waits for the first.
    assert [row.waits_for_link for row in preview.rows] == [True, True, False, True]
    assert preview.waiting_for_link == 3


def test_the_order_form_says_when_the_order_would_wait_behind_an_open_one(client, person, followers):
    first = sent(followers)
    form = {"service": followers.pk, "quantity": "100"}

    waits = client.post(reverse("orders:order_estimate"), {**form, "link": "instagram.com/p/post1/"})
    free = client.post(reverse("orders:order_estimate"), {**form, "link": link(2)})

    assert (
        f'Order <a href="{reverse("orders:order_detail", args=[first.code])}">{first.code}</a>'
        in waits.content.decode()
    )
    assert "will wait" in waits.content.decode()
    assert "will wait" not in free.content.decode()
