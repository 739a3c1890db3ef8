"""Exactly once per submission: the unit of idempotency is what the person submitted, not a line.

A token that already placed orders returns them; the same token with other content is refused
with a sentence and places nothing. Every path that creates orders is replayed here.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from orders.forms import OrderForm
from orders.models import Order, OrderStatus
from orders.services.approvals import order_approve
from orders.services.common import OrderActionError, OrderInvalid
from orders.services.placing import order_place, submission_orders
from orders.services.submitting import order_submit
from presets.models import Preset
from presets.services import preset_apply
from providers.models import Provider
from providers.sandbox.models import Order as SandboxOrder
from tests.factories import client_of, link, links, person
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db(transaction=True)
MASS_URL = reverse("orders:mass_order")
TOKEN = "replay-token-0123456789"


def mass(client, provider, text: str, action: str = "confirm", token: str = TOKEN):
    data = {"provider": provider.pk, "text": text, "submission_token": token, "action": action}
    return client.post(MASS_URL, data)


def lines_of(service, numbers, bad: bool = False) -> str:
    rows = [f"{service.service_id} | {link(n)} | 100" for n in numbers]
    if bad:
        rows.insert(1, f"{service.service_id} | https://youtube.com/watch?v=x | 100")
    return "\n".join(rows)


def run(*args: str) -> tuple[int, list[dict]]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_dropping_the_bad_lines_after_placing_and_confirming_again_places_nothing_more(followers):
    buyer = client_of(person("buyer", "Buyer"))
    first = mass(buyer, followers.provider, lines_of(followers, [1, 2, 3], bad=True))
    assert first.status_code == 302 and Order.objects.count() == 3

    dropped = mass(buyer, followers.provider, lines_of(followers, [1, 2, 3], bad=True), action="drop")
    text = re.search(r"<textarea[^>]*>(.*?)</textarea>", dropped.content.decode(), re.S).group(1)
    again = mass(buyer, followers.provider, text.replace("&#x27;", "'"))

    assert Order.objects.count() == 3
    assert again.status_code == 302 and again["Location"] == first["Location"]


def test_a_mass_order_token_with_other_lines_is_refused_and_places_nothing(followers):
    buyer = client_of(person("buyer", "Buyer"))
    mass(buyer, followers.provider, lines_of(followers, [1, 2]))

    other = mass(buyer, followers.provider, lines_of(followers, [1, 2, 3]))

    assert other.status_code == 200
    assert "This form already placed 2 orders" in other.content.decode()
    assert Order.objects.count() == 2


def test_the_order_form_with_a_used_token_and_another_quantity_is_refused(followers):
    data = {"service": followers.pk, "link": link(), "quantity": 100, "submission_token": TOKEN}
    form = OrderForm(data)
    assert form.is_valid(), form.errors
    first = form.place(enqueue=False)

    changed = OrderForm({**data, "quantity": 200})
    placed = changed.place(enqueue=False) if changed.is_valid() else None

    assert placed is None
    assert "This form already placed 1 order" in changed.non_field_errors()[0]
    assert list(Order.objects.all()) == [first]


def test_a_preset_token_with_other_links_is_refused_and_places_nothing(followers):
    preset = a_preset((followers, 100))
    preset_apply(preset=preset, links=links(2), campaign=None, token=TOKEN, enqueue=False)

    with pytest.raises(OrderInvalid, match="already placed 2 orders"):
        preset_apply(preset=preset, links=links(3), campaign=None, token=TOKEN, enqueue=False)
    assert Order.objects.count() == 2


def test_place_order_with_an_idempotency_key_places_once_and_prints_the_same_order(followers):
    args = ["place_order", "--service", str(followers.service_id), "--link", link(), "--quantity", "100"]

    code, first = run(*args, "--idempotency-key", TOKEN)
    again_code, again = run(*args, "--idempotency-key", TOKEN)

    assert (code, again_code) == (0, 0)
    assert first == again and Order.objects.count() == 1
    assert SandboxOrder.objects.count() == 1


def test_place_order_with_a_used_key_and_other_fields_is_bad_input(followers):
    args = ["place_order", "--service", str(followers.service_id), "--link", link()]
    run(*args, "--quantity", "100", "--idempotency-key", TOKEN)

    with pytest.raises(CommandError, match="already placed 1 order") as refused:
        run(*args, "--quantity", "200", "--idempotency-key", TOKEN)

    assert refused.value.returncode == 2
    assert Order.objects.count() == 1


def test_place_orders_with_an_idempotency_key_places_the_file_once(followers, tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text(lines_of(followers, [1, 2]))

    first = run("place_orders", str(path), "--idempotency-key", TOKEN)
    again = run("place_orders", str(path), "--idempotency-key", TOKEN)

    assert first == again and first[0] == 0
    assert Order.objects.count() == 2 and SandboxOrder.objects.count() == 2


def test_approving_twice_sends_the_order_once(followers, settings):
    settings.APPROVAL_THRESHOLD = Decimal("0.01")
    order = order_place(
        service=followers, link=link(), quantity=100, user=person("buyer", "Buyer"), enqueue=False
    )
    approver = person("approver", "Approver")
    order_approve(order=order, user=approver)
    with pytest.raises(OrderActionError, match="not waiting for approval"):
        order_approve(order=Order.objects.get(pk=order.pk), user=approver)

    order_submit(order_id=order.pk)
    assert order_submit(order_id=order.pk) is None  # a second delivery of the task finds it claimed
    assert SandboxOrder.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


# Every path that creates orders: (client, service, quantities, token, folder) → the codes placed.
# Links are new for every token: the panel refuses a second active order for one link.
Path = Callable[..., list[str]]


def _links(token: str, count: int) -> list[str]:
    return [f"https://instagram.com/p/{token}{number}" for number in range(count)]


def _lines(service, quantities, token) -> str:
    return "\n".join(
        f"{service.service_id} | {url} | {quantity}"
        for url, quantity in zip(_links(token, len(quantities)), quantities, strict=True)
    )


def _redirected(response) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    return response["Location"]


def by_order_form(client, service, quantities, token, folder) -> list[str]:
    data = {
        "service": service.pk,
        "link": _links(token, 1)[0],
        "quantity": quantities[0],
        "submission_token": token,
    }
    location = _redirected(client.post(reverse("orders:order_create"), data))
    return [location.rstrip("/").rsplit("/", 1)[1]]


def by_mass_order(client, service, quantities, token, folder) -> list[str]:
    response = mass(client, service.provider, _lines(service, quantities, token), token=token)
    return _redirected(response).partition("codes=")[2].split(",")


def by_preset(client, service, quantities, token, folder) -> list[str]:
    name = f"Preset {token}"
    preset = Preset.objects.filter(name=name).first() or a_preset(
        *((service, q) for q in quantities), name=name
    )
    url = reverse("presets:preset_apply", args=[preset.pk])
    data = {"links": "\n".join(_links(token, 2)), "submission_token": token, "campaign": ""}
    page = client.post(url, {**data, "action": "preview"}).content.decode()
    data["previewed_as"] = re.search(r'name="previewed_as" value="(\w+)"', page).group(1)
    _redirected(client.post(url, {**data, "action": "place"}))
    return [order.code for order in submission_orders(token)]


def by_place_order(client, service, quantities, token, folder) -> list[str]:
    code, printed = run(
        "place_order", "--service", str(service.service_id), "--link", _links(token, 1)[0],
        "--quantity", str(quantities[0]), "--idempotency-key", token,
    )  # fmt: skip
    assert code == 0, printed
    return [line["code"] for line in printed]


def by_place_orders(client, service, quantities, token, folder) -> list[str]:
    path = folder / f"{token}.txt"
    path.write_text(_lines(service, quantities, token))
    code, printed = run("place_orders", str(path), "--idempotency-key", token)
    assert code == 0, printed
    return [line["code"] for line in printed]


PATHS: dict[str, Path] = {
    "order form": by_order_form,
    "mass order": by_mass_order,
    "preset": by_preset,
    "place_order": by_place_order,
    "place_orders": by_place_orders,
}


@pytest.mark.parametrize("path", PATHS)
@hypothesis_settings(max_examples=5)
@given(quantities=st.lists(st.integers(min_value=10, max_value=5000), min_size=1, max_size=3))
def test_every_path_that_places_orders_replayed_twice_places_them_once(path, quantities, followers, tmp_path):
    Provider.objects.filter(pk=followers.provider_id).update(balance=None)  # a replay is not about funds
    client = client_of(get_user_model().objects.get_or_create(username="replayer", is_superuser=True)[0])
    token = uuid.uuid4().hex
    before = Order.objects.count()

    first = PATHS[path](client, followers, quantities, token, tmp_path)
    second = PATHS[path](client, followers, quantities, token, tmp_path)

    assert first == second and len(set(first)) == len(first) > 0
    assert Order.objects.count() == before + len(first)
