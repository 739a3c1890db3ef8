"""Sending events to the team's endpoints: Slack-compatible chat hooks and signed webhooks.

Every request goes through the provider client's guarded transport: a URL inside the network
is refused unless ALLOW_PRIVATE_PROVIDER_URLS, and a whole call has a deadline. A webhook body
is signed with the endpoint's secret, HMAC-SHA256 over "<timestamp>.<body>" (README, "Webhooks").
A delivery carries up to EVENTS_PER_DELIVERY events: one request, or one chat message, each.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from jappanel.events import Occurrence, announce
from notifications.models import Delivery, Endpoint, Event, Kind
from notifications.services.mail import absolute
from providers import crypto
from providers.client.transport import PanelAdapter, call_deadline

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Jappanel-Signature"
TIMESTAMP_HEADER = "X-Jappanel-Timestamp"
DELIVERY_HEADER = "X-Jappanel-Delivery"
EVENT_HEADER = "X-Jappanel-Event"
# A delivery is claimed for this long: a worker killed mid-way leaves it to the sweeper after.
LEASE = timedelta(minutes=5)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-Jappanel-Signature: "sha256=" and the hex HMAC of "<timestamp>.<body>"."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def delivery_events(delivery: Delivery) -> list[Event]:
    """The delivery's events, oldest first."""
    return list(Event.objects.filter(pk__in=delivery.event_ids).order_by("pk"))


def deliveries_described(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """The deliveries, each with its `first_event` and how many `more` it carries (a log page's
    worth in one query)."""
    deliveries = list(deliveries)
    firsts = Event.objects.in_bulk([d.event_ids[0] for d in deliveries if d.event_ids])
    for delivery in deliveries:
        delivery.first_event = firsts.get(delivery.event_ids[0]) if delivery.event_ids else None
        delivery.more = max(len(delivery.event_ids) - 1, 0)
    return deliveries


def _chat_text(text: str) -> str:
    """`text` as chat shows it, not as markup: a service name from a panel could otherwise
    mention the whole channel (`<!channel>`) or hide a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chat_line(event: Event) -> str:
    # Slack, Mattermost and Rocket.Chat all read `text`, with <url|label> links.
    title = _chat_text(event.title)
    return f"{title} <{absolute(event.url)}|Open>" if event.url else title


def payload(delivery: Delivery, events: list[Event]) -> dict[str, Any]:
    """What an endpoint receives: ids, codes, amounts and links; never a key or a session."""
    if delivery.endpoint.type == Endpoint.Type.CHAT:
        if len(events) == 1:
            return {"text": _chat_line(events[0])}
        return {"text": "\n".join([f"{len(events)} events:", *(f"• {_chat_line(e)}" for e in events)])}
    return {
        "delivery_id": str(delivery.delivery_id),
        "events": [
            {
                "id": event.pk,
                "kind": event.kind,
                "at": event.at.isoformat(),
                "title": event.title,
                "url": absolute(event.url) if event.url else "",
                "data": event.data,
            }
            for event in events
        ],
    }


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between us and the check
    adapter = PanelAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class Attempt:
    code: int | None
    ms: int
    error: str

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def _post(delivery: Delivery) -> Attempt:
    endpoint = delivery.endpoint
    events = delivery_events(delivery)
    try:
        url, secret = endpoint._url(), endpoint._secret()
    except crypto.ApiKeyDecryptionError:
        # FIELD_ENCRYPTION_KEYS lost the key they were stored under: nothing is sent, and the
        # retries go on until the key is put back or the delivery is given up.
        return Attempt(None, 0, "cannot decrypt the endpoint's URL or secret: check FIELD_ENCRYPTION_KEYS")
    body = json.dumps(payload(delivery, events), separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "jappanel-webhooks"}
    if endpoint.type == Endpoint.Type.WEBHOOK:
        timestamp = str(int(time.time()))
        headers |= {
            DELIVERY_HEADER: str(delivery.delivery_id),
            EVENT_HEADER: ",".join(dict.fromkeys(event.kind for event in events)),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }
    started = time.monotonic()
    try:
        with _session() as session, call_deadline(settings.NOTIFY_WEBHOOK_TIMEOUT):
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=(settings.PROVIDER_CONNECT_TIMEOUT, settings.NOTIFY_WEBHOOK_TIMEOUT),
                allow_redirects=False,
            )
            response.close()
    except requests.RequestException as exc:
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        sentence = getattr(reason, "sentence", None) or type(exc).__name__
        return Attempt(None, int((time.monotonic() - started) * 1000), sentence[:300])
    ms = int((time.monotonic() - started) * 1000)
    return Attempt(response.status_code, ms, "" if response.ok else f"HTTP {response.status_code}")


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: doubling from NOTIFY_WEBHOOK_BACKOFF_SECONDS, with
    jitter, at most six hours apart."""
    base = settings.NOTIFY_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, 6 * 3600) * random.uniform(0.8, 1.2)


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return Delivery.objects.select_related("endpoint").get(pk=delivery_id)


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Send one pending, due delivery; return seconds until the next attempt when it failed and
    may be tried again, else None. Never inside a transaction: it waits on the network."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None or not delivery.endpoint.active:
        return None
    attempt = _post(delivery)
    finished = timezone.now()
    fields: dict[str, Any] = {
        "response_code": attempt.code,
        "response_ms": attempt.ms,
        "error": attempt.error,
    }
    if attempt.ok:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.DELIVERED, finished_at=finished, **fields
        )
        Endpoint.objects.filter(pk=delivery.endpoint_id).update(failures_in_a_row=0)
        return None
    wait = backoff(delivery.attempts)
    give_up = finished + timedelta(seconds=wait) > delivery.created_at + timedelta(
        seconds=settings.NOTIFY_WEBHOOK_GIVE_UP_SECONDS
    )
    if give_up:
        fields |= {"status": Delivery.Status.FAILED, "finished_at": finished}
    else:
        fields["next_attempt_at"] = finished + timedelta(seconds=wait)
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    _count_failure(delivery.endpoint)
    return None if give_up else wait


def _count_failure(endpoint: Endpoint) -> None:
    """One more failure in a row; past NOTIFY_WEBHOOK_DISABLE_AFTER the endpoint is disabled and
    the managers told."""
    Endpoint.objects.filter(pk=endpoint.pk).update(failures_in_a_row=F("failures_in_a_row") + 1)
    limit = settings.NOTIFY_WEBHOOK_DISABLE_AFTER
    reason = f"Disabled after {limit} failed attempts in a row"
    key = f"endpoint:{endpoint.pk}:disabled:{timezone.now().isoformat()}"
    with transaction.atomic():
        disabled = Endpoint.objects.filter(pk=endpoint.pk, active=True, failures_in_a_row__gte=limit).update(
            active=False, disabled_reason=reason
        )
        if disabled:
            announce(
                [
                    Occurrence(
                        "notify.direct",
                        key,
                        {
                            "kind": Kind.ENDPOINT_DISABLED,
                            "key": key,
                            "title": f"“{endpoint.name}” was disabled: {limit} failures in a row",
                            "url": reverse("notifications:endpoint_list"),
                            "data": {"endpoint_id": endpoint.pk},
                            "action": "manage_campaigns",
                        },
                    )
                ]
            )


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """ "Send again": a new delivery of the same events (a new id: the receiver takes it as new)."""
    again = Delivery.objects.create(endpoint=delivery.endpoint, event_ids=delivery.event_ids)
    transaction.on_commit(lambda: _enqueue([again.pk]), robust=True)
    return again


def endpoint_enable(*, endpoint: Endpoint) -> None:
    Endpoint.objects.filter(pk=endpoint.pk).update(active=True, failures_in_a_row=0, disabled_reason="")


def deliveries_resume(*, now: datetime | None = None) -> int:
    """Periodic: start again the pending deliveries that are due, whose task was lost (a worker
    killed mid-way, a broker restarted). Claiming makes a second start harmless."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    _enqueue(due)
    return len(due)


def _enqueue(delivery_ids: list[int]) -> None:
    from notifications.tasks import deliver

    for delivery_id in delivery_ids:
        deliver.delay(delivery_id)


def endpoints_rotate_secrets(**kwargs: object) -> tuple[int, str]:
    """Re-encrypt every endpoint's secret and URL under the current (first) FIELD_ENCRYPTION_KEYS
    key; connected to `providers.signals.encryption_keys_rotated`."""
    rotated = 0
    for endpoint in Endpoint.objects.only("pk", "url_encrypted", "secret_encrypted"):
        Endpoint.objects.filter(pk=endpoint.pk).update(
            url_encrypted=crypto.rotate(endpoint.url_encrypted),
            secret_encrypted=crypto.rotate(endpoint.secret_encrypted),
        )
        rotated += 1
    return rotated, "notification endpoint(s)"
