"""Mail through a real SMTP server on localhost (aiosmtpd): one per event, or a daily digest."""

from __future__ import annotations

import pytest

from jappanel.events import Occurrence, announce
from notifications.models import Choice, Kind, Notification, Preference
from notifications.services.mail import digests_send, notifications_mail
from orders.services.placing import order_place
from tests.factories import link, person
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def parts(message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_an_approval_request_is_mailed_in_plain_text_and_html(followers, smtp_server):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    order = order_place(service=followers, link=link(), quantity=1000, user=buyer, enqueue=False)
    ids = list(Notification.objects.values_list("event_id", flat=True))

    assert notifications_mail(event_ids=ids) == 1
    assert notifications_mail(event_ids=ids) == 0  # a retried task sends nothing twice

    [(recipients, message)] = smtp_server.messages
    assert recipients == [approver.email]
    assert message["Subject"] == f"[jappanel] Order {order.code} (0.90 USD) waits for approval"
    body = parts(message)
    assert f"https://panel.example.com/orders/{order.code}/" in body["text/plain"]
    assert f'href="https://panel.example.com/orders/{order.code}/"' in body["text/html"]


def test_a_failed_mail_server_gives_the_mails_back_for_the_retry(followers, settings):
    buyer = person("buyer", "Buyer")
    person("approver", "Approver")
    order_place(service=followers, link=link(), quantity=1000, user=buyer, enqueue=False)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

    with pytest.raises(OSError):
        notifications_mail(event_ids=list(Notification.objects.values_list("event_id", flat=True)))

    assert Notification.objects.get().mailed_at is None


def test_the_digest_sends_one_mail_per_person_with_everything_since_the_last(followers, smtp_server):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")
    Preference.objects.create(user=approver, kind=Kind.APPROVAL_REQUESTED, choice=Choice.DIGEST)
    first = order_place(service=followers, link=link(1), quantity=1000, user=buyer, enqueue=False)
    second = order_place(service=followers, link=link(2), quantity=1000, user=buyer, enqueue=False)

    assert digests_send() == 1
    assert digests_send() == 0

    [(recipients, message)] = smtp_server.messages
    assert recipients == [approver.email]
    assert message["Subject"] == "[jappanel] 2 notifications today"
    text = parts(message)["text/plain"]
    assert first.code in text and second.code in text


@pytest.mark.worker
def test_the_worker_mails_after_commit(followers, smtp_server, celery_worker):
    buyer, approver = person("buyer", "Buyer"), person("approver", "Approver")

    order_place(service=followers, link=link(), quantity=1000, user=buyer, enqueue=False)

    wait_for(lambda: smtp_server.messages)
    assert smtp_server.messages[0][0] == [approver.email]


def test_a_title_with_line_breaks_is_one_line_in_the_subject_and_never_stops_the_mail(smtp_server):
    manager = person("boss", "Manager")
    # A service name from a panel may hold anything, line breaks and a forged header included.
    title = "Price of Followers\r\nBcc: everyone@example.com\n changed"
    announce(
        [
            Occurrence(
                "notify.direct",
                "hostile",
                {"kind": Kind.HEALTH, "key": "hostile", "title": title, "people": {manager.pk}},
            )
        ]
    )

    assert notifications_mail(event_ids=list(Notification.objects.values_list("event_id", flat=True))) == 1

    [(recipients, message)] = smtp_server.messages
    assert recipients == [manager.email]
    assert message["Subject"] == "[jappanel] Price of Followers Bcc: everyone@example.com changed"


def test_a_burst_of_events_is_one_mail_per_person_listing_them(smtp_server):
    manager, other = person("boss", "Manager"), person("other", "Manager")
    announce(
        Occurrence(
            "notify.direct",
            f"unconfirmed:{n}",
            {
                "kind": Kind.ORDER_UNCONFIRMED,
                "key": f"unconfirmed:{n}",
                "title": f"Order U{n} needs a person",
                "url": f"/orders/U{n}/",
                "people": {manager.pk} if n else {manager.pk, other.pk},
            },
        )
        for n in range(3)
    )

    assert notifications_mail(event_ids=list(Notification.objects.values_list("event_id", flat=True))) == 2

    mails = {recipients[0]: message for recipients, message in smtp_server.messages}
    assert mails[manager.email]["Subject"] == "[jappanel] 3 notifications"
    listing = parts(mails[manager.email])["text/plain"]
    assert all(f"Order U{n} needs a person" in listing for n in range(3))
    assert "https://panel.example.com/orders/U2/" in listing
    assert mails[other.email]["Subject"] == "[jappanel] Order U0 needs a person"
