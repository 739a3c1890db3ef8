"""Webhooks and chat, against a real HTTP receiver on localhost that checks every signature."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from jappanel.events import Occurrence, announce
from notifications.models import Delivery, Endpoint, Event, Kind, Notification
from notifications.services import webhooks
from notifications.services.webhooks import deliveries_resume, delivery_attempt
from orders.services.placing import order_place
from team.models import Campaign
from tests.factories import client_of, link, person
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def webhook(receiver, **fields) -> Endpoint:
    endpoint = Endpoint.objects.create(
        name="Our tool", type=Endpoint.Type.WEBHOOK, url=receiver.url, **fields
    )
    receiver.secret = endpoint._secret()
    return endpoint


def place(followers, n: int = 1, **fields):
    buyer = person(f"buyer{n}", "Buyer")
    return order_place(service=followers, link=link(n), quantity=1000, user=buyer, enqueue=False, **fields)


def test_a_delivery_is_signed_and_carries_ids_codes_and_links_only(followers, receiver):
    webhook(receiver)
    order = place(followers)
    delivery = Delivery.objects.get()

    assert delivery_attempt(delivery_id=delivery.pk) is None

    assert receiver.bad_signatures == 0
    [request] = receiver.requests
    assert request["headers"]["X-Jappanel-Delivery"] == str(delivery.delivery_id)
    assert request["headers"]["X-Jappanel-Event"] == Kind.APPROVAL_REQUESTED
    body = json.loads(request["body"])
    [event] = body["events"]
    assert event["url"] == f"https://panel.example.com/orders/{order.code}/"
    assert event["data"] == {"order_code": order.code, "amount": "0.90000", "currency": "USD"}
    text = request["body"].decode().lower()
    assert not any(word in text for word in ("key", "password", "session", "secret", "token"))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.response_ms is not None


def test_a_wrong_secret_is_caught_by_the_receiver(followers, receiver):
    webhook(receiver)
    receiver.secret = "not-the-secret"
    place(followers)

    wait = delivery_attempt(delivery_id=Delivery.objects.get().pk)

    assert receiver.bad_signatures == 1 and wait is not None
    assert Delivery.objects.get().response_code == 401


def test_a_chat_hook_gets_slack_text_with_the_link(followers, receiver):
    Endpoint.objects.create(name="Chat", type=Endpoint.Type.CHAT, url=receiver.url)
    order = place(followers)

    delivery_attempt(delivery_id=Delivery.objects.get().pk)

    body = json.loads(receiver.requests[0]["body"])
    assert body == {
        "text": f"Order {order.code} (0.90 USD) waits for approval <https://panel.example.com/orders/{order.code}/|Open>"
    }
    assert "X-Jappanel-Signature" not in receiver.requests[0]["headers"]


def _many_events(n: int) -> list[Event]:
    """`n` events recorded at once (a polling round's moves), each with its link."""
    announce(
        Occurrence(
            "notify.direct",
            f"many:{i}",
            {
                "kind": Kind.ORDER_PARTIAL,
                "key": f"many:{i}",
                "title": f"Order N{i} was delivered in part",
                "url": f"/orders/N{i}/",
                "data": {"order_code": f"N{i}"},
            },
        )
        for i in range(n)
    )
    return list(Event.objects.order_by("pk"))


def test_a_burst_of_events_goes_in_a_few_requests_of_a_hundred(receiver):
    webhook(receiver)
    events = _many_events(250)

    deliveries = list(Delivery.objects.order_by("pk"))
    assert [len(d.event_ids) for d in deliveries] == [100, 100, 50]
    assert [i for d in deliveries for i in d.event_ids] == [e.pk for e in events]
    for delivery in deliveries:
        delivery_attempt(delivery_id=delivery.pk)

    assert receiver.bad_signatures == 0 and len(receiver.requests) == 3
    bodies = [json.loads(request["body"]) for request in receiver.requests]
    assert [e["data"]["order_code"] for body in bodies for e in body["events"]] == [
        f"N{i}" for i in range(250)
    ]
    assert {request["headers"]["X-Jappanel-Event"] for request in receiver.requests} == {Kind.ORDER_PARTIAL}


def test_a_chat_hook_gets_a_burst_as_one_message_listing_each(receiver):
    Endpoint.objects.create(name="Chat", type=Endpoint.Type.CHAT, url=receiver.url)
    _many_events(3)

    delivery_attempt(delivery_id=Delivery.objects.get().pk)

    [request] = receiver.requests
    assert json.loads(request["body"])["text"].splitlines() == [
        "3 events:",
        *(
            f"• Order N{i} was delivered in part <https://panel.example.com/orders/N{i}/|Open>"
            for i in range(3)
        ),
    ]


def test_a_chat_message_shows_a_title_as_text_never_as_markup(receiver):
    Endpoint.objects.create(name="Chat", type=Endpoint.Type.CHAT, url=receiver.url)
    title = "Price of <!channel> & <https://evil.example|Refunds> changed"
    announce(
        [
            Occurrence(
                "notify.direct", "hostile", {"kind": Kind.CATALOG_CHANGED, "key": "hostile", "title": title}
            )
        ]
    )

    delivery_attempt(delivery_id=Delivery.objects.get().pk)

    text = json.loads(receiver.requests[0]["body"])["text"]
    assert text == "Price of &lt;!channel&gt; &amp; &lt;https://evil.example|Refunds&gt; changed"


def test_the_log_names_a_deliverys_first_event_and_how_many_more(receiver):
    endpoint = webhook(receiver)
    _many_events(3)
    client = client_of(person("boss", "Manager"))

    log = client.get(reverse("notifications:endpoint_log", args=[endpoint.pk])).content.decode()

    assert "Order N0 was delivered in part" in log and "and 2 more" in log
    assert "Order N1 was" not in log


def test_an_endpoint_gets_only_its_campaign_and_its_kinds(followers, receiver):
    launch = Campaign.objects.create(name="Launch")
    webhook(receiver, campaign=launch)
    Endpoint.objects.create(name="Health only", type="webhook", url=receiver.url, kinds=[Kind.HEALTH])

    place(followers, 1)
    in_campaign = place(followers, 2, campaign=launch)

    [delivery] = Delivery.objects.select_related("endpoint")
    assert delivery.endpoint.campaign == launch
    [event] = Event.objects.filter(pk__in=delivery.event_ids)
    assert event.data["order_code"] == in_campaign.code


def test_a_failing_endpoint_is_retried_with_growing_waits_then_disabled_and_managers_told(
    followers, receiver, settings
):
    settings.NOTIFY_WEBHOOK_BACKOFF_SECONDS = 60.0
    settings.NOTIFY_WEBHOOK_DISABLE_AFTER = 3
    manager = person("boss", "Manager")
    endpoint = webhook(receiver)
    receiver.script = ["500"] * 10
    place(followers)
    delivery = Delivery.objects.get()

    waits = []
    for _ in range(3):
        waits.append(delivery_attempt(delivery_id=delivery.pk))
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    assert 48 <= waits[0] <= 72 and 96 <= waits[1] <= 144 and 192 <= waits[2] <= 288
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.failures_in_a_row == 3
    told = Notification.objects.get(user=manager, event__kind=Kind.ENDPOINT_DISABLED)
    assert "Our tool" in told.event.title
    # Disabled: nothing more is sent, and no delivery of it is made.
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 3
    assert all(told.event_id not in d.event_ids for d in Delivery.objects.all())


def test_a_delivery_is_given_up_after_a_day(followers, receiver, settings):
    settings.NOTIFY_WEBHOOK_BACKOFF_SECONDS = 60.0
    webhook(receiver)
    receiver.script = ["503"]
    place(followers)
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59, seconds=30))

    assert delivery_attempt(delivery_id=Delivery.objects.get().pk) is None

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.error) == ("failed", 503, "HTTP 503")


def test_an_address_inside_the_network_is_refused_at_the_socket(followers, receiver, settings):
    settings.ALLOW_PRIVATE_PROVIDER_URLS = False
    webhook(receiver)
    place(followers)

    delivery_attempt(delivery_id=Delivery.objects.get().pk)

    assert receiver.requests == []
    assert "inside the network" in Delivery.objects.get().error


def test_send_again_makes_a_new_delivery_from_the_log(followers, receiver):
    endpoint = webhook(receiver)
    place(followers)
    first = Delivery.objects.get()
    delivery_attempt(delivery_id=first.pk)
    manager = person("boss", "Manager")
    client = client_of(manager)

    log = client.get(reverse("notifications:endpoint_log", args=[endpoint.pk])).content.decode()
    assert "Send again" in log and "200" in log
    client.post(reverse("notifications:delivery_resend", args=[first.pk]))

    again = Delivery.objects.exclude(pk=first.pk).get()
    assert again.event_ids == first.event_ids and again.delivery_id != first.delivery_id


@pytest.mark.worker
def test_a_delivery_killed_mid_way_is_delivered_once_after_the_retry(followers, receiver, celery_worker):
    webhook(receiver)
    # The first request arrives and its connection dies before the answer.
    receiver.script = ["drop"]

    order = place(followers)

    delivery = wait_for(lambda: Delivery.objects.filter(status="delivered").first())
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2
    ids = {request["headers"]["X-Jappanel-Delivery"] for request in receiver.requests}
    assert ids == {str(delivery.delivery_id)}
    assert list(receiver.processed) == [str(delivery.delivery_id)]
    [event] = receiver.processed[str(delivery.delivery_id)]["events"]
    assert event["data"]["order_code"] == order.code


@pytest.mark.worker
def test_a_delivery_whose_task_was_lost_is_resumed_by_the_sweeper(followers, receiver, celery_worker, drain):
    webhook(receiver)
    with pytest.MonkeyPatch.context() as patch:
        # The broker loses the task: nothing is enqueued after commit.
        patch.setattr("notifications.services.recording._enqueue", lambda *args: None)
        place(followers)
    assert Event.objects.exists() and receiver.requests == []

    assert deliveries_resume() == 1

    wait_for(lambda: Delivery.objects.filter(status="delivered").exists())
    assert len(receiver.processed) == 1


def test_the_endpoint_form_says_what_is_sent_under_the_headers_actually_sent(db):
    page = client_of(person("boss", "Manager")).get(reverse("notifications:endpoint_create")).content.decode()

    headers = (
        webhooks.DELIVERY_HEADER,
        webhooks.EVENT_HEADER,
        webhooks.TIMESTAMP_HEADER,
        webhooks.SIGNATURE_HEADER,
    )
    assert all(f"<code>{header}</code>" in page for header in headers)
    assert '"events": [' in page.replace("&quot;", '"')
