"""`add`: every service type with its parameters, the money taken, and every refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.sandbox.models import Account, Order, OrderKind, ServiceType
from tests.sandbox.conftest import service_of
from tests.sandbox.factories import ServiceFactory

pytestmark = pytest.mark.django_db

LINK = "https://instagram.com/p/Ds2kfEr24Dr"

# Each type of JAP doc §1.4 with a complete parameter set and the quantity it implies.
ORDERS_BY_TYPE = [
    (ServiceType.DEFAULT, {"link": LINK, "quantity": 100}, 100),
    (ServiceType.DEFAULT, {"link": LINK, "quantity": 100, "runs": 2, "interval": 5}, 100),
    (ServiceType.PACKAGE, {"link": LINK}, 1),
    (ServiceType.SEO, {"link": LINK, "quantity": 100, "keywords": "smm panel\ncheap likes"}, 100),
    (ServiceType.CUSTOM_COMMENTS, {"link": LINK, "comments": "good pic\ngreat photo\n:)\n;)\n" * 3}, 12),
    (ServiceType.CUSTOM_COMMENTS_PACKAGE, {"link": LINK, "comments": "one\ntwo"}, 1),
    (ServiceType.MENTIONS, {"link": LINK, "quantity": 100, "usernames": "test, testing"}, 100),
    (
        ServiceType.MENTIONS_WITH_HASHTAGS,
        {"link": LINK, "quantity": 100, "usernames": "test, testing", "hashtags": "#goodphoto"},
        100,
    ),
    (
        ServiceType.MENTIONS_CUSTOM_LIST,
        {"link": LINK, "usernames": "\n".join(f"u{n}" for n in range(12))},
        12,
    ),
    (ServiceType.MENTIONS_HASHTAG, {"link": LINK, "quantity": 100, "hashtag": "travel"}, 100),
    (ServiceType.MENTIONS_USER_FOLLOWERS, {"link": LINK, "quantity": 100, "username": "natgeo"}, 100),
    (
        ServiceType.MENTIONS_MEDIA_LIKERS,
        {"link": LINK, "quantity": 100, "media": "http://example.com/p/Ds2kfEr24Dr"},
        100,
    ),
    (ServiceType.COMMENT_LIKES, {"link": LINK, "quantity": 100, "username": "owner"}, 100),
    (ServiceType.COMMENT_REPLIES, {"link": LINK, "username": "owner", "comments": "a\nb\nc\nd\ne\nf"}, 6),
    (ServiceType.POLL, {"link": LINK, "quantity": 100, "answer_number": "7"}, 100),
    (ServiceType.INVITES_FROM_GROUPS, {"link": LINK, "quantity": 100, "groups": "group1\ngroup2"}, 100),
    (
        ServiceType.WEB_TRAFFIC,
        {
            "link": "https://example.com",
            "quantity": 1000,
            "country": "US",
            "device": 5,
            "type_of_traffic": 1,
            "google_keyword": "smm panel",
        },
        1000,
    ),
    (
        ServiceType.WEB_TRAFFIC,
        {
            "link": "https://example.com",
            "quantity": 1000,
            "country": "United States",
            "device": 2,
            "type_of_traffic": 2,
            "referring_url": "https://news.example.org/",
        },
        1000,
    ),
    (
        ServiceType.WEB_TRAFFIC,
        {"link": "https://example.com", "quantity": 1000, "country": "DE", "device": 1, "type_of_traffic": 3},
        1000,
    ),
]


@pytest.mark.parametrize(("service_type", "params", "quantity"), ORDERS_BY_TYPE)
def test_it_accepts_every_service_type_with_its_parameters(
    api: object, service_type: str, params: dict, quantity: int
) -> None:
    service = ServiceFactory(type=service_type, min=1 if quantity < 10 else 10, max=100_000)

    answer = api("add", service=service.id, **params)

    assert list(answer) == ["order"]
    assert type(answer["order"]) is int
    assert Order.objects.get(pk=answer["order"]).quantity == quantity


def test_it_accepts_a_subscription_without_link_or_quantity(api: object) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, min=50, max=1000)

    answer = api(
        "add",
        service=service.id,
        username="natgeo",
        min=100,
        max=200,
        posts=5,
        old_posts=2,
        delay=30,
        expiry="11/11/2030",
    )

    order = Order.objects.get(pk=answer["order"])
    assert order.kind == OrderKind.SUBSCRIPTION
    assert order.params["expiry"] == "2030-11-11"
    assert order.children.filter(old_post=True).count() == 2


def test_it_accepts_every_type_of_the_real_catalog(api: object) -> None:
    for number, (service_type, params, _) in enumerate(ORDERS_BY_TYPE):
        service = service_of(service_type)
        params = {**params, "link": f"{params['link']}?{number}", "quantity": max(service.min, 1000)}
        assert "order" in api("add", service=service.id, **params), service_type


def test_it_charges_rate_times_quantity_per_thousand(api: object, account: Account) -> None:
    service = ServiceFactory(rate=Decimal("0.9"), min=10, max=100_000)

    order = api("add", service=service.id, link=LINK, quantity=3333)["order"]

    assert Order.objects.get(pk=order).charge == Decimal("2.99970")
    assert api("balance") == {"balance": "997.00030", "currency": "USD"}


def test_it_charges_every_run_of_a_drip_feed(api: object) -> None:
    service = ServiceFactory(rate=Decimal("0.125"))

    order = api("add", service=service.id, link=LINK, quantity=1000, runs=10, interval=60)["order"]

    assert Order.objects.get(pk=order).charge == Decimal("1.25000")
    assert api("balance")["balance"] == "998.75000"


def test_it_charges_custom_comments_per_non_empty_line(api: object) -> None:
    service = ServiceFactory(type=ServiceType.CUSTOM_COMMENTS, rate=Decimal("8"), min=1, max=1500)

    order = api("add", service=service.id, link=LINK, comments="good pic\r\n\r\ngreat photo\n  \n:)\n")[
        "order"
    ]

    saved = Order.objects.get(pk=order)
    assert saved.quantity == 3
    assert saved.charge == Decimal("0.02400")


def test_it_charges_a_package_its_rate(api: object) -> None:
    service = ServiceFactory(type=ServiceType.PACKAGE, rate=Decimal("35"), min=1, max=1)

    api("add", service=service.id, link=LINK)

    assert api("balance")["balance"] == "965.00000"


@pytest.mark.parametrize("service", ["", "abc", "0", "-3", "99999999"])
def test_it_refuses_an_unknown_service(api: object, service: str) -> None:
    assert api("add", service=service, link=LINK, quantity=100) == {"error": "Incorrect service ID"}


def test_it_refuses_an_inactive_service(api: object) -> None:
    service = ServiceFactory(active=False)

    assert api("add", service=service.id, link=LINK, quantity=100) == {"error": "Incorrect service ID"}


@pytest.mark.parametrize("link", ["", "   ", "https://example.com/a b", "x" * 501])
def test_it_refuses_an_empty_or_invalid_link(api: object, link: str) -> None:
    service = ServiceFactory()

    assert api("add", service=service.id, link=link, quantity=100) == {"error": "Incorrect link"}


@pytest.mark.parametrize(
    ("quantity", "sentence"),
    [
        ("9", "Quantity less than minimal 10"),
        ("", "Quantity less than minimal 10"),
        ("ten", "Quantity less than minimal 10"),
        ("10001", "Quantity more than maximum 10000"),
    ],
)
def test_it_refuses_a_quantity_out_of_bounds(api: object, quantity: str, sentence: str) -> None:
    service = ServiceFactory(min=10, max=10_000)

    assert api("add", service=service.id, link=LINK, quantity=quantity) == {"error": sentence}


def test_it_refuses_an_order_it_cannot_pay_for_and_charges_nothing(api: object) -> None:
    service = ServiceFactory(rate=Decimal("100"), max=1_000_000)

    answer = api("add", service=service.id, link=LINK, quantity=10_001)

    assert answer == {"error": "Not enough funds on balance"}
    assert api("balance")["balance"] == "1000.00000"
    assert not Order.objects.exists()


def test_it_refuses_a_second_active_order_on_a_link_for_the_same_service(api: object, clock: object) -> None:
    service = ServiceFactory()
    api("add", service=service.id, link=LINK, quantity=100)

    assert api("add", service=service.id, link=LINK, quantity=100) == {
        "error": "You have active order with this link. Please wait until order being completed."
    }
    assert "order" in api("add", service=service.id, link=f"{LINK}/other", quantity=100)
    assert "order" in api("add", service=ServiceFactory().id, link=LINK, quantity=100)  # another service

    clock.advance(simulated=True, days=2)
    assert "order" in api("add", service=service.id, link=LINK, quantity=100)


def test_it_refuses_drip_feed_for_a_service_without_it(api: object) -> None:
    service = ServiceFactory(dripfeed=False)

    answer = api("add", service=service.id, link=LINK, quantity=100, runs=2, interval=5)

    assert answer == {"error": "Drip-feed is disabled for this service"}
    assert "order" in api("add", service=service.id, link=LINK, quantity=100, runs="", interval="")


@pytest.mark.parametrize(
    ("runs", "interval", "sentence"),
    [("x", "5", "Incorrect runs"), ("2", "", "Incorrect interval"), ("-1", "5", "Incorrect runs")],
)
def test_it_refuses_incomplete_drip_feed_parameters(
    api: object, runs: str, interval: str, sentence: str
) -> None:
    service = ServiceFactory()

    assert api("add", service=service.id, link=LINK, quantity=100, runs=runs, interval=interval) == {
        "error": sentence
    }


@pytest.mark.parametrize(
    ("service_type", "params", "sentence"),
    [
        (ServiceType.SEO, {"quantity": 100}, "Incorrect keywords"),
        (ServiceType.CUSTOM_COMMENTS, {"comments": " \n \n"}, "Incorrect comments"),
        (ServiceType.CUSTOM_COMMENTS_PACKAGE, {}, "Incorrect comments"),
        (ServiceType.MENTIONS, {"quantity": 100}, "Incorrect usernames"),
        (ServiceType.MENTIONS_WITH_HASHTAGS, {"quantity": 100, "usernames": "a"}, "Incorrect hashtags"),
        (ServiceType.MENTIONS_CUSTOM_LIST, {}, "Incorrect usernames"),
        (ServiceType.MENTIONS_HASHTAG, {"quantity": 100}, "Incorrect hashtag"),
        (ServiceType.MENTIONS_USER_FOLLOWERS, {"quantity": 100}, "Incorrect username"),
        (ServiceType.MENTIONS_MEDIA_LIKERS, {"quantity": 100}, "Incorrect media"),
        (ServiceType.COMMENT_LIKES, {"quantity": 100}, "Incorrect username"),
        (ServiceType.COMMENT_REPLIES, {"comments": "a"}, "Incorrect username"),
        (ServiceType.COMMENT_REPLIES, {"username": "a"}, "Incorrect comments"),
        (ServiceType.POLL, {"quantity": 100}, "Incorrect answer number"),
        (ServiceType.POLL, {"quantity": 100, "answer_number": "first"}, "Incorrect answer number"),
        (ServiceType.INVITES_FROM_GROUPS, {"quantity": 100}, "Incorrect groups"),
    ],
)
def test_it_refuses_a_missing_type_specific_field(
    api: object, service_type: str, params: dict, sentence: str
) -> None:
    service = ServiceFactory(type=service_type, min=1)

    assert api("add", service=service.id, link=LINK, **params) == {"error": sentence}


WEB = {"link": "https://example.com", "quantity": 1000, "country": "US", "device": 1, "type_of_traffic": 3}


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"country": ""}, "Incorrect country"),
        ({"device": 6}, "Incorrect device"),
        ({"device": ""}, "Incorrect device"),
        ({"type_of_traffic": 4}, "Incorrect type of traffic"),
        ({"type_of_traffic": 1}, "Incorrect google keyword"),
        ({"type_of_traffic": 2}, "Incorrect referring url"),
    ],
)
def test_it_refuses_incomplete_web_traffic(api: object, changes: dict, sentence: str) -> None:
    service = ServiceFactory(type=ServiceType.WEB_TRAFFIC)

    assert api("add", service=service.id, **{**WEB, **changes}) == {"error": sentence}


SUBSCRIPTION = {"username": "natgeo", "min": 100, "max": 200, "delay": 0}


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"username": ""}, "Incorrect username"),
        ({"min": 10}, "Quantity less than minimal 50"),
        ({"max": 5000}, "Quantity more than maximum 1000"),
        ({"min": 300}, "Incorrect max"),
        ({"delay": 7}, "Incorrect delay"),
        ({"posts": "many"}, "Incorrect posts"),
        ({"old_posts": 101}, "Incorrect old posts"),
        ({"expiry": "2030-11-11"}, "Incorrect expiry"),
        ({"expiry": "01/01/2020"}, "Incorrect expiry"),
    ],
)
def test_it_refuses_an_incomplete_subscription(api: object, changes: dict, sentence: str) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, min=50, max=1000)

    assert api("add", service=service.id, **{**SUBSCRIPTION, **changes}) == {"error": sentence}


def test_it_charges_the_old_posts_of_a_subscription_at_once(api: object) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, rate=Decimal("2"), min=50, max=1000)

    order = api("add", service=service.id, **SUBSCRIPTION, posts=0, old_posts=3)["order"]

    children = Order.objects.filter(parent_id=order)
    paid = sum(child.charge for child in children)
    assert paid == sum(Decimal(2) * child.quantity / 1000 for child in children)
    assert Decimal(api("balance")["balance"]) == Decimal("1000") - paid


def test_it_refuses_a_subscription_it_cannot_pay_a_post_for(api: object, account: Account) -> None:
    service = ServiceFactory(type=ServiceType.SUBSCRIPTIONS, rate=Decimal("2"), min=50, max=1000)
    Account.objects.filter(pk=account.pk).update(balance=Decimal("0.39999"))

    assert api("add", service=service.id, **SUBSCRIPTION) == {"error": "Not enough funds on balance"}
