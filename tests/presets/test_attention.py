"""A preset whose line no longer fits the catalog (its service gone, its quantity out of bounds)
says so and cannot be applied until it is fixed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Service
from orders.models import Order
from orders.services.common import OrderInvalid
from presets.services import preset_apply, preset_attention
from tests.factories import SandboxServiceFactory, client_of, links, person
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db


@pytest.fixture
def preset():
    likes, followers = (
        SandboxServiceFactory(service_id=9100),
        SandboxServiceFactory(service_id=9101, max_quantity=5000),
    )
    return a_preset((likes, 1000), (followers, 2000), name="Launch")


def test_a_line_whose_service_vanished_or_whose_quantity_is_now_out_of_bounds_needs_attention(preset):
    assert preset_attention(preset) == []

    Service.objects.filter(service_id=9100).update(active=False)
    Service.objects.filter(service_id=9101).update(min_quantity=2500)

    assert preset_attention(preset) == [
        "Line 1: Sandbox no longer offers #9100.",
        "Line 2: #9101 takes 2,500 to 5,000; quantity: 2,000.",
    ]


def test_a_preset_needing_attention_is_refused_before_anything_is_checked_or_placed(preset):
    Service.objects.filter(service_id=9101).update(max_quantity=1500)

    with pytest.raises(OrderInvalid) as refused:
        preset_apply(preset=preset, links=links(2), campaign=None, token="t-0123456789", enqueue=False)

    message = refused.value.errors["__all__"]
    assert message.startswith("1 line needs attention: Line 2: #9101 takes 10 to 1,500; quantity: 2,000.")
    assert not Order.objects.exists()


def test_the_list_shows_how_many_lines_need_attention_and_offers_to_fix_instead_of_apply(preset):
    Service.objects.filter(service_id=9100).update(active=False)
    manager, buyer = client_of(person("manager", "Manager")), client_of(person("viewerbuyer", "Buyer"))

    page = manager.get(reverse("presets:preset_list")).content.decode()

    assert "1 line needs attention" in page and "Sandbox no longer offers #9100." in page
    assert reverse("presets:preset_apply", args=[preset.pk]) not in page
    assert f'href="{reverse("presets:preset_edit", args=[preset.pk])}">Fix it</a>' in page
    assert "Fix it" in buyer.get(reverse("presets:preset_list")).content.decode()  # buyers manage presets


def test_the_apply_page_of_a_preset_needing_attention_explains_and_has_no_form(preset):
    Service.objects.filter(service_id=9100).update(active=False)
    Service.objects.filter(service_id=9101).update(max_quantity=100)
    client = client_of(person("buyer", "Buyer"))

    page = client.get(reverse("presets:preset_apply", args=[preset.pk])).content.decode()

    assert "2 lines need attention" in page
    assert "The catalog changed since this preset was saved" in page
    assert 'id="apply-form"' not in page
    posted = client.post(
        reverse("presets:preset_apply", args=[preset.pk]),
        {"links": links(1)[0], "submission_token": "t-0123456789", "action": "place", "previewed_as": "x"},
    )
    assert posted.status_code == 200 and not Order.objects.exists()


def test_once_fixed_the_preset_applies_again(preset):
    Service.objects.filter(service_id=9101).update(max_quantity=1500)
    assert preset_attention(preset)

    Service.objects.filter(service_id=9101).update(max_quantity=5000)

    placed = preset_apply(preset=preset, links=links(1), campaign=None, token="t-0123456789", enqueue=False)
    assert len(placed) == 2
