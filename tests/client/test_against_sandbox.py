"""The client against the real sandbox view: in-process (`sandbox://`) and over HTTP (live_server)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from providers.client import (
    SERVICE_TYPES,
    ItemError,
    JapClient,
    OrderRequest,
    ProviderOrderStatus,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnreachable,
    ServiceInfo,
)
from providers.sandbox.models import Order
from providers.sandbox.views import answers_in_progress
from tests.waiting import wait_for

KEY = "client-test-sandbox-key"

POST = "https://instagram.com/p/"


def lines(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {number}" for number in range(count)]


FIELDS_BY_TYPE: dict[str, Callable[[ServiceInfo], dict[str, object]]] = {
    "Default": lambda s: {"link": POST + "default", "quantity": s.min},
    "Package": lambda s: {"link": POST + "package"},
    "SEO": lambda s: {"link": "https://example.com/seo", "quantity": s.min, "keywords": ["shoes", "red"]},
    "Custom Comments": lambda s: {"link": POST + "cc", "comments": lines("nice", s.min)},
    "Custom Comments Package": lambda s: {"link": POST + "ccp", "comments": ["wow", "great"]},
    "Mentions": lambda s: {"link": POST + "m", "quantity": s.min, "usernames": ["a", "b"]},
    "Mentions with Hashtags": lambda s: {
        "link": POST + "mh", "quantity": s.min, "usernames": ["a"], "hashtags": ["#goodphoto"]
    },
    "Mentions Custom List": lambda s: {"link": POST + "ml", "usernames": lines("user", s.min)},
    "Mentions Hashtag": lambda s: {"link": POST + "mht", "quantity": s.min, "hashtag": "summer"},
    "Mentions User Followers": lambda s: {"link": POST + "muf", "quantity": s.min, "username": "nasa"},
    "Mentions Media Likers": lambda s: {"link": POST + "mml", "quantity": s.min, "media": POST + "Ds2kf"},
    "Comment Likes": lambda s: {"link": POST + "cl", "quantity": s.min, "username": "owner"},
    "Comment Replies": lambda s: {"link": POST + "cr", "username": "owner", "comments": lines("yes", s.min)},
    "Poll": lambda s: {"link": "https://t.me/channel/1", "quantity": s.min, "answer_number": 2},
    "Invites from Groups": lambda s: {
        "link": "https://facebook.com/groups/1", "quantity": s.min, "groups": ["group1", "group2"]
    },
    "Subscriptions": lambda s: {"username": "nasa", "min": s.min, "max": s.min, "delay": 0, "posts": 3},
    "Web Traffic": lambda s: {
        "link": "https://example.com", "quantity": s.min, "country": "US", "device": 5, "type_of_traffic": 3
    },
}  # fmt: skip


# Transactional: the sandbox answers from another thread (in-process) or another server thread
# (live_server), and both must see what the test committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["in-process", "http"])
def sandbox_url(request, settings) -> str:
    settings.SANDBOX_API_KEY = KEY
    settings.SANDBOX_START_BALANCE = Decimal("100000")
    settings.SANDBOX_FAULT_MODE = "none"
    if request.param == "http":
        return request.getfixturevalue("live_server").url + "/sandbox/api/v2"
    return "sandbox://local/api/v2"


@pytest.fixture
def sandbox(sandbox_url: str) -> JapClient:
    with JapClient(sandbox_url, KEY, connect_timeout=2, read_timeout=10) as client:
        yield client


def first_of_type(services: tuple[ServiceInfo, ...], service_type: str, **flags: bool) -> ServiceInfo:
    return next(
        s for s in services if s.type == service_type and all(getattr(s, k) == v for k, v in flags.items())
    )


def test_the_sandbox_catalogue_parses_without_a_skipped_entry(sandbox):
    result = sandbox.services()
    assert len(result.services) >= 200
    assert result.skipped_count == 0
    assert {s.type for s in result.services} <= set(SERVICE_TYPES)
    assert all(isinstance(s.rate, Decimal) for s in result.services)


def test_an_order_is_charged_followed_refilled_and_cancelled_through_the_client(sandbox):
    services = sandbox.services().services
    before = sandbox.balance()
    service = first_of_type(services, "Default", cancel=True)
    request = OrderRequest.build(
        service=service.id,
        service_type=service.type,
        link="https://instagram.com/p/e2e",
        quantity=service.min,
    )
    order_id = sandbox.add(request.service, **request.fields)
    after = sandbox.balance()
    assert before.amount - after.amount == service.rate * service.min / 1000

    status = sandbox.status(order_id)
    assert isinstance(status, ProviderOrderStatus)
    assert status.currency == before.currency
    statuses = sandbox.statuses([order_id, 999999999])
    assert statuses[order_id].status == status.status
    assert statuses[999999999] == ItemError("Incorrect order ID")

    cancelled = sandbox.cancel([order_id, 999999999])
    assert isinstance(cancelled[order_id], bool | ItemError)
    assert isinstance(cancelled[999999999], ItemError)
    refills = sandbox.refills([order_id])
    assert isinstance(refills[order_id], int | ItemError)


def test_the_panels_refusals_arrive_as_rejections_with_its_sentences(sandbox, sandbox_url):
    service = first_of_type(sandbox.services().services, "Default")
    with pytest.raises(ProviderRejected, match=f"^Quantity less than minimal {service.min}$"):
        sandbox.add(service.id, link="https://instagram.com/p/few", quantity=service.min - 1)
    with pytest.raises(ProviderRejected, match="^Incorrect order ID$"):
        sandbox.status(999999999)
    with pytest.raises(ProviderRejected, match="^Invalid API key$"):
        JapClient(sandbox_url, "wrong-key").balance()


@pytest.mark.parametrize("service_type", FIELDS_BY_TYPE)
def test_every_service_type_can_be_ordered_with_fields_that_pass_our_validation(sandbox, service_type):
    service = first_of_type(sandbox.services().services, service_type)
    request = OrderRequest.build(
        service=service.id, service_type=service.type, **FIELDS_BY_TYPE[service_type](service)
    )
    order_id = sandbox.add(request.service, **request.fields)
    assert sandbox.status(order_id).status


def test_drip_feed_and_subscription_parents_report_their_own_shapes(sandbox):
    services = sandbox.services().services
    drip = first_of_type(services, "Default", dripfeed=True)
    parent = sandbox.status(sandbox.add(drip.id, link=POST + "drip", quantity=drip.min, runs=2, interval=5))
    assert (parent.runs, parent.charge) == (2, None)
    assert all(isinstance(child, ProviderOrderStatus) for child in sandbox.statuses(parent.orders).values())
    subscription = first_of_type(services, "Subscriptions")
    fields = FIELDS_BY_TYPE["Subscriptions"](subscription)
    status = sandbox.status(sandbox.add(subscription.id, **fields))
    assert status.posts is not None
    assert status.charge is None


def test_the_maintenance_fault_leaves_the_outcome_unknown(sandbox, settings):
    settings.SANDBOX_FAULT_MODE = "html_503"
    with pytest.raises(
        ProviderOutcomeUnknown, match="HTTP 503, an HTML page titled '503 Service Temporarily"
    ):
        sandbox.balance()


def test_the_cloudflare_fault_means_the_panel_was_not_reached(sandbox, settings):
    settings.SANDBOX_FAULT_MODE = "cloudflare"
    with pytest.raises(ProviderUnreachable, match="Cloudflare"):
        sandbox.balance()


def test_an_order_accepted_after_the_read_timeout_exists_although_the_client_saw_no_answer(
    sandbox_url, settings
):
    service = first_of_type(JapClient(sandbox_url, KEY).services().services, "Default")
    settings.PROVIDER_READ_TIMEOUT = 0.5
    settings.SANDBOX_FAULT_MODE = "late_accept"
    client = JapClient(sandbox_url, KEY)
    # The sandbox answers a second after the read timeout: an answer would mean the client waited.
    with pytest.raises(ProviderOutcomeUnknown, match="may have processed the request and charged"):
        client.add(service.id, link="https://instagram.com/p/late", quantity=service.min)
    wait_for(lambda: answers_in_progress() == 0)
    assert Order.objects.filter(link="https://instagram.com/p/late").exists()
