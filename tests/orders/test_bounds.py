"""Every number, text and link bounded on every path: a sentence, never a 5xx or a stored value
that breaks a page."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from orders.models import Order
from orders.services.common import OrderInvalid
from orders.services.mass import mass_order_parse
from orders.services.placing import order_place
from presets.services import preset_preview
from providers.models import Provider
from tests.factories import SandboxServiceFactory, client_of, person
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db
HUGE = 10**30
TOKEN = "bounds-token-0123456789"
NEW_URL = reverse("orders:order_create")
ESTIMATE_URL = reverse("orders:order_estimate")
MASS_URL = reverse("orders:mass_order")
HOSTILE_LINKS = ['=HYPERLINK("evil.example","x")', "@evil.example", "+1+1.example"]


@pytest.fixture
def buyer():
    return client_of(person("buyer", "Buyer"))


@pytest.fixture
def likes():
    return SandboxServiceFactory(service_id=9100, dripfeed=True, max_quantity=100_000)


@pytest.fixture
def plain():
    """A service without drip-feed."""
    return SandboxServiceFactory(service_id=9101, dripfeed=False)


@pytest.fixture
def website():
    """A service with no platform rule for its links ("Other")."""
    return SandboxServiceFactory(
        service_id=9102, name="Website visitors", category="Website Traffic", platform="other"
    )


def order_data(service, **fields) -> dict[str, object]:
    return {
        "service": service.pk,
        "link": "https://instagram.com/p/a",
        "quantity": 100,
        "submission_token": TOKEN,
        **fields,
    }


def mass_preview(client, service, line: str):
    data = {"provider": service.provider_id, "text": line, "submission_token": TOKEN, "action": "preview"}
    return client.post(MASS_URL, data)


def refused(service, **fields) -> dict[str, str]:
    with pytest.raises(OrderInvalid) as exc:
        order_place(service=service, fields=fields, enqueue=False)
    assert not Order.objects.exists()
    return exc.value.errors


# Numbers ----------------------------------------------------------------------------------------


def test_a_huge_quantity_is_a_sentence_on_the_form_the_estimate_and_the_mass_preview(buyer, likes):
    form = buyer.post(NEW_URL, order_data(likes, quantity=HUGE))
    estimate = buyer.post(ESTIMATE_URL, order_data(likes, quantity=HUGE))
    preview = mass_preview(buyer, likes, f"{likes.service_id} | https://instagram.com/p/a | {HUGE}")

    assert (form.status_code, estimate.status_code, preview.status_code) == (200, 200, 200)
    assert "Ensure this value is less than or equal to" in form.content.decode()
    assert "This service takes at most 100,000; the quantity: " in preview.content.decode()
    assert not Order.objects.exists()


def test_drip_feed_runs_are_refused_for_a_service_without_drip_feed(plain):
    errors = refused(plain, link="https://instagram.com/p/a", quantity=100, runs=5, interval=30)
    assert errors["runs"] == "This service has no drip-feed: leave runs and interval empty."


def test_runs_above_1000_and_an_interval_above_a_week_are_refused(likes):
    errors = refused(likes, link="https://instagram.com/p/a", quantity=100, runs=1001, interval=10081)
    assert errors["runs"] == "At most 1,000 runs."
    assert errors["interval"] == "At most 10,080 minutes (a week) between runs."


def test_huge_runs_in_a_mass_order_line_are_refused_before_any_estimate(likes):
    line = f"{likes.service_id} | https://instagram.com/p/a | 100 | runs={HUGE} | interval=30"
    (parsed,) = mass_order_parse(line, provider=likes.provider)
    assert not parsed.ok and "At most 1,000 runs." in parsed.error


def test_an_estimate_wider_than_its_column_is_refused_before_saving():
    dear = SandboxServiceFactory(
        service_id=9103, rate=Decimal("999999999.99999"), max_quantity=10**9, dripfeed=True
    )
    Provider.objects.filter(pk=dear.provider_id).update(balance=None)
    dear.refresh_from_db()
    errors = refused(dear, link="https://instagram.com/p/a", quantity=10**9, runs=1000, interval=30)
    assert errors["__all__"].startswith("This order would cost ")
    assert "more than one order can cost (999,999,999.99999)" in errors["__all__"]


def test_every_number_field_of_a_subscription_is_bounded(catalog):
    subscription = catalog("Subscriptions")
    errors = refused(
        subscription, username="someone", min=HUGE, max=HUGE, delay=0, posts=HUGE, old_posts=HUGE
    )
    assert {"min", "max", "posts", "old_posts"} <= errors.keys()


def test_a_preset_line_with_runs_and_a_service_without_drip_feed_is_refused_in_the_preview(plain):
    preset = a_preset((plain, 100))
    preset.lines.update(runs=HUGE % 2**31, interval=30)
    (row,) = preset_preview(preset=preset, links=["https://instagram.com/p/a"]).rows
    assert not row.ok and "no drip-feed" in row.error


# Texts and bulk input ---------------------------------------------------------------------------


def test_a_link_longer_than_its_column_is_refused_on_every_path(likes, tmp_path):
    long_link = "https://instagram.com/p/" + "a" * 500
    assert "At most 500 characters" in refused(likes, link=long_link, quantity=100)["link"]
    (line,) = mass_order_parse(f"{likes.service_id} | {long_link} | 100", provider=likes.provider)
    assert "At most 500 characters" in line.error
    with pytest.raises(CommandError, match="At most 500 characters"):
        call_command(
            "place_order", "--service", str(likes.service_id), "--link", long_link, "--quantity", "100"
        )


def test_control_characters_are_refused_in_any_text_field(likes):
    errors = refused(likes, link="https://instagram.com/p/a\x00b", quantity=100)
    assert "link" in errors
    upload = f"{likes.service_id} | https://instagram.com/p/a\x1b[31m | 100"
    (line,) = mass_order_parse(upload, provider=likes.provider)
    assert not line.ok


def test_a_mass_order_of_more_than_1000_lines_is_refused_with_a_sentence(buyer, likes):
    text = "\n".join(f"{likes.service_id} | https://instagram.com/p/{n} | 100" for n in range(1001))
    response = mass_preview(buyer, likes, text)
    assert response.status_code == 200
    assert "A mass order has at most 1,000 lines; this one has 1,001." in response.content.decode()
    assert "ok-line" not in response.content.decode()


def test_an_upload_larger_than_1_mb_is_refused_unread(buyer, likes):
    upload = io.BytesIO(b"#" * (1024 * 1024 + 1))
    upload.name = "orders.txt"
    data = {"provider": likes.provider_id, "file": upload, "submission_token": TOKEN, "action": "preview"}
    response = buyer.post(MASS_URL, data)
    assert response.status_code == 200
    assert "The file is larger than 1 MB" in response.content.decode()


def test_place_orders_refuses_a_file_of_more_than_1000_lines(likes, tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text("\n".join(f"{likes.service_id} | https://instagram.com/p/{n} | 100" for n in range(1001)))
    with pytest.raises(CommandError, match="at most 1,000 lines") as exc:
        call_command("place_orders", str(path))
    assert exc.value.returncode == 2


def test_comments_are_capped_at_1000_lines(catalog):
    comments = catalog("Custom Comments", category__startswith="Instagram")
    Provider.objects.filter(pk=comments.provider_id).update(balance=None)
    comments.max_quantity = 100_000
    comments.save()
    text = "\n".join(f"nice {n}" for n in range(1001))
    errors = refused(comments, link="https://instagram.com/p/a", comments=text)
    assert errors["comments"] == "At most 1,000 lines; this has 1,001."


def test_the_preset_links_box_is_capped_in_size(buyer, likes):
    preset = a_preset((likes, 100))
    url = reverse("presets:preset_apply", args=[preset.pk])
    text = "\n".join(f"https://instagram.com/p/{n}" for n in range(10_000))
    response = buyer.post(url, {"links": text, "submission_token": TOKEN, "action": "preview"})
    assert response.status_code == 200
    assert "Ensure this value has at most" in response.content.decode()


# Links ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE_LINKS)
def test_a_link_that_is_not_a_url_is_refused_for_a_service_without_a_platform_rule(website, hostile):
    errors = refused(website, link=hostile, quantity=100)
    assert errors["link"] == "Enter a full link, such as https://example.com/page."


@pytest.mark.parametrize(
    "link",
    [
        "https://example.com/a b",
        'https://example.com/"onload',
        "https://user:pass@example.com/",
        "javascript:alert(1)",
        "https://exa_mple.com/",
        "https://example/",
    ],
)
def test_a_link_needs_a_scheme_a_host_and_no_spaces_quotes_or_credentials(website, link):
    assert "link" in refused(website, link=link, quantity=100)


@pytest.mark.parametrize(
    "link", ["example.com", "https://example.com/page?a=1#x", "http://sub.example.co.uk"]
)
def test_ordinary_links_are_still_accepted(website, link):
    order = order_place(service=website, link=link, quantity=100, enqueue=False)
    assert order.link == link


def test_hostile_links_are_refused_by_the_mass_order_the_command_and_the_preset(website):
    for hostile in HOSTILE_LINKS:
        (line,) = mass_order_parse(f"{website.service_id} | {hostile} | 100", provider=website.provider)
        assert not line.ok
        with pytest.raises(CommandError, match="Enter a full link"):
            call_command(
                "place_order", "--service", str(website.service_id), "--link", hostile, "--quantity", "100"
            )
    preset = a_preset((website, 100))
    rows = preset_preview(preset=preset, links=HOSTILE_LINKS).rows
    assert not any(row.ok for row in rows)
    assert not Order.objects.exists()


def test_the_referring_url_of_web_traffic_is_a_url_too(catalog):
    traffic = catalog("Web Traffic")
    errors = refused(
        traffic,
        link="https://example.com",
        quantity=traffic.min_quantity,
        country="US",
        device=1,
        type_of_traffic=2,
        referring_url='=HYPERLINK("evil.example")',
    )
    assert "referring_url" in errors


def test_place_orders_refuses_a_file_that_is_not_utf8_in_one_line(likes, tmp_path):
    path = tmp_path / "orders.txt"
    path.write_bytes(b"\xff\xfe1 | x | 100")
    with pytest.raises(CommandError, match="not UTF-8 text") as exc:
        call_command("place_orders", str(path))
    assert exc.value.returncode == 2


def test_a_service_id_of_unicode_digits_is_a_bad_line_not_an_error(likes):
    (line,) = mass_order_parse("² | https://instagram.com/p/a | 100", provider=likes.provider)
    assert "is not a number" in line.error


@pytest.mark.parametrize(
    "url",
    [
        "/orders/?q=%C2%B2",
        "/orders/?q=%23%C2%B2",
        "/orders/?older=%C2%B2-1",
        "/orders/refills/?q=%C2%B2",
        "/orders/new/?q=%C2%B2&service=%C2%B2",
        "/services/?q=%23%C2%B2",
    ],
)
def test_digits_that_are_not_ascii_in_a_search_are_text_not_an_error(url, likes):
    client = client_of(person("manager", "Manager"))
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        f"/orders/?provider={2**63}",
        f"/orders/?campaign=-{2**63 + 1}",
        f"/orders/?service={10**30}&person={2**64}",
        f"/orders/refills/?provider={2**63}",
        f"/services/?provider={2**63}",
    ],
)
def test_an_id_filter_too_large_for_the_database_is_ignored_not_an_error(url, likes):
    assert client_of(person("manager", "Manager")).get(url).status_code == 200
