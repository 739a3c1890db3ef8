"""The preset pages: list, editor with its lines, apply with its preview, result; who may use them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from presets.models import Preset
from providers.models import Provider
from team.models import Budget, Campaign
from tests.factories import SandboxServiceFactory, a_real_provider, client_of, links, person
from tests.presets.conftest import a_preset

pytestmark = pytest.mark.django_db

TOKEN = "page-token-0123456789"


def lines_data(*lines: dict[str, object], initial: int = 0) -> dict[str, object]:
    data: dict[str, object] = {
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": initial,
        "lines-MIN_NUM_FORMS": 1,
        "lines-MAX_NUM_FORMS": 20,
    }
    for number, line in enumerate(lines):
        data.update({f"lines-{number}-{name}": value for name, value in line.items()})
    return data


def a_line(service, quantity: int, runs: object = "", interval: object = "", **extra) -> dict[str, object]:
    return {
        "provider": service.provider_id,
        "service_number": service.service_id,
        "quantity": quantity,
        "runs": runs,
        "interval": interval,
        **extra,
    }


def apply(client, preset, link_list, action: str = "preview", **extra):
    """Post the apply form; "place" posts what the preview answered (its fingerprint) first."""
    url = reverse("presets:preset_apply", args=[preset.pk])
    data = {"links": "\n".join(link_list), "submission_token": TOKEN, "campaign": "", **extra}
    if action == "place" and "previewed_as" not in data:
        page = client.post(url, {**data, "action": "preview"}).content.decode()
        data["previewed_as"] = re.search(r'name="previewed_as" value="(\w+)"', page).group(1)
    return client.post(url, {**data, "action": action})


def test_the_empty_list_invites_to_create_the_first_preset_and_archived_ones_are_hidden():
    buyer = client_of(person("buyer", "Buyer"))
    page = buyer.get(reverse("presets:preset_list")).content.decode()
    assert "Create your first preset" in page
    assert reverse("presets:preset_create") in page
    a_preset((SandboxServiceFactory(service_id=9100), 1000), name="Old", active=False)
    a_preset(
        (SandboxServiceFactory(service_id=9101), 250, 5, 30),
        name="Weekly",
        campaign=Campaign.objects.create(name="Spring"),
    )
    page = buyer.get(reverse("presets:preset_list")).content.decode()
    assert "Weekly" in page and "Old" not in page
    assert "250 ×" in page and "5 runs, every 30 min" in page and "Spring" in page
    assert "1.5432 USD" in page  # 250 × 1.23456 / 1000 × 5 runs, per link
    assert "Old" in buyer.get(reverse("presets:preset_list") + "?archived=1").content.decode()


def test_the_list_costs_a_fixed_number_of_queries(django_assert_max_num_queries):
    buyer = client_of(person("buyer", "Buyer"))
    for number in range(8):
        a_preset(
            (SandboxServiceFactory(service_id=9100 + 2 * number), 100),
            (SandboxServiceFactory(service_id=9101 + 2 * number), 50),
            name=f"P{number}",
        )
    with django_assert_max_num_queries(10):
        assert buyer.get(reverse("presets:preset_list")).status_code == 200


def test_a_preset_is_created_with_its_lines_and_a_line_can_be_added_then_removed():
    likes, views = (
        SandboxServiceFactory(service_id=9100),
        SandboxServiceFactory(service_id=9200, dripfeed=True),
    )
    buyer = person("buyer", "Buyer")
    client = client_of(buyer)
    url = reverse("presets:preset_create")
    assert "Save preset" in client.get(url).content.decode()
    base = {"name": "Launch", "notes": "", "campaign": "", "active": "on"}
    grown = client.post(url, {**base, **lines_data(a_line(likes, 1000)), "action": "add"})
    assert grown.status_code == 200 and 'name="lines-1-quantity"' in grown.content.decode()
    assert "Instagram likes 9100" in grown.content.decode()  # the service's name beside its id
    assert not Preset.objects.exists()
    saved = client.post(url, {**base, **lines_data(a_line(likes, 1000), a_line(views, 100, 4, 60))})
    assert saved.status_code == 302
    preset = Preset.objects.get()
    assert preset.created_by == buyer
    assert list(preset.lines.values_list("service__service_id", "quantity", "runs", "interval")) == [
        (9100, 1000, None, None),
        (9200, 100, 4, 60),
    ]
    ids = list(preset.lines.values_list("pk", flat=True))
    edited = lines_data(
        a_line(likes, 1000, id=ids[0], DELETE="on"), a_line(views, 300, 4, 60, id=ids[1]), initial=2
    )
    client.post(reverse("presets:preset_edit", args=[preset.pk]), {**base, **edited})
    assert list(preset.lines.values_list("service__service_id", "quantity")) == [(9200, 300)]


def test_bad_lines_are_refused_with_a_reason_each():
    likes, comments = (
        SandboxServiceFactory(service_id=9100),
        SandboxServiceFactory(service_id=9300, type="Custom Comments"),
    )
    views = SandboxServiceFactory(service_id=9200, dripfeed=True)
    client = client_of(person("buyer", "Buyer"))
    base = {"name": "Bad", "notes": "", "campaign": ""}
    data = lines_data(
        a_line(views, 1000, runs=5),  # runs without the minutes between them
        a_line(likes, 1000, runs=5, interval=10),  # a drip-feed of a service without one
        a_line(likes, 5),  # below the minimum of 10
        {**a_line(likes, 100), "service_number": 4242},
        a_line(comments, 100),
    )
    page = client.post(reverse("presets:preset_create"), {**base, **data}).content.decode()
    assert "A drip-feed needs both the runs and the minutes between them." in page
    assert "#9100 has no drip-feed" in page
    assert "#9100 takes 10 to 100,000; quantity: 5." in page
    assert "Sandbox has no service #4242" in page
    assert "#9300 is a Custom Comments service" in page
    empty = client.post(reverse("presets:preset_create"), {**base, **lines_data()}).content.decode()
    assert "A preset needs at least one line." in empty
    assert not Preset.objects.exists()


def test_the_htmx_preview_shows_the_total_first_then_every_row_and_the_place_button():
    preset = a_preset(
        (SandboxServiceFactory(service_id=9100), 1000), (SandboxServiceFactory(service_id=9101), 100)
    )
    client = client_of(person("buyer", "Buyer"), **{"HX-Request": "true", "HX-Target": "apply-form"})
    page = apply(client, preset, links(2)).content.decode()
    assert "<html" not in page
    total, table = page.index("2.71604 USD"), page.index("<table")  # 2 × (1.23456 + 0.12346)
    assert total < table
    assert page.count('class="ok-line"') == 4
    assert re.search(r'value="place" class="button"\s*>Place 4 orders', page)


def test_an_invalid_row_disables_placing_with_the_reason_and_a_forced_post_places_nothing():
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    client = client_of(person("buyer", "Buyer"))
    mixed = ["https://instagram.com/p/a", "https://tiktok.com/@b/video/1"]
    page = apply(client, preset, mixed).content.decode()
    assert "disabled" in page.split("Place 2 orders")[0].rsplit("<button", 1)[1]
    assert "1 of the 2 orders cannot be placed" in page
    assert "This is not an Instagram link" in page
    assert apply(client, preset, mixed, action="place").status_code == 200
    assert not Order.objects.exists()


def test_the_links_that_cannot_be_placed_are_removed_in_one_click_then_placing_is_possible():
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    client = client_of(person("buyer", "Buyer"))
    mixed = ["https://instagram.com/p/a", "https://tiktok.com/@b/video/1", "https://instagram.com/p/c"]
    page = apply(client, preset, mixed).content.decode()
    assert "Remove the 1 link that cannot be placed" in page
    page = apply(client, preset, mixed, action="drop_bad").content.decode()
    box = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S).group(1)
    assert box.split() == ["https://instagram.com/p/a", "https://instagram.com/p/c"]
    assert "Remove the" not in page and "cannot be placed" not in page
    assert "disabled" not in page.split("Place 2 orders")[0].rsplit("<button", 1)[1]
    assert not Order.objects.exists()


def test_nothing_is_removed_when_no_link_can_be_placed():
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    client = client_of(person("buyer", "Buyer"))
    bad = ["https://tiktok.com/@b/video/1", "https://youtube.com/watch?v=x"]
    page = apply(client, preset, bad).content.decode()
    assert "Remove the" not in page
    page = apply(client, preset, bad, action="drop_bad").content.decode()
    assert "No link can be placed as it is: nothing was removed." in page
    assert "https://youtube.com/watch?v=x" in page


def test_links_given_twice_are_refused_above_the_box():
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    page = apply(client_of(person("buyer", "Buyer")), preset, links(1) * 2).content.decode()
    assert "given twice: https://instagram.com/p/post1 (lines 1 and 2)" in page
    assert "<table" not in page


def test_placing_leads_to_the_result_and_a_reload_places_nothing_more(settings):
    settings.APPROVAL_THRESHOLD = Decimal("1.00")
    preset = a_preset(
        (SandboxServiceFactory(service_id=9100), 1000), (SandboxServiceFactory(service_id=9101), 100)
    )
    buyer = client_of(person("buyer", "Buyer"))
    placed = apply(buyer, preset, links(2), action="place")
    assert placed.status_code == 302
    assert placed["Location"] == f"{reverse('presets:preset_applied', args=[preset.pk])}?form={TOKEN}"
    orders = list(Order.objects.order_by("pk"))
    assert len(orders) == 4
    again = apply(buyer, preset, links(2), action="place")  # the browser posts the form again
    assert again["Location"] == placed["Location"]
    assert Order.objects.count() == 4
    result = buyer.get(placed["Location"]).content.decode()
    assert "4 orders placed" in result
    assert "4 waiting for approval" in result  # together above the threshold
    assert all(reverse("orders:order_detail", args=[order.code]) in result for order in orders)
    assert result.count("Waiting for approval") == 4
    assert "2.71604 USD" in result


def test_links_changed_after_the_preview_are_shown_again_before_anything_is_placed():
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    buyer = client_of(person("buyer", "Buyer"))
    url = reverse("presets:preset_apply", args=[preset.pk])
    page = apply(buyer, preset, links(1)).content.decode()
    fingerprint = re.search(r'name="previewed_as" value="(\w+)"', page).group(1)
    changed = apply(buyer, preset, links(3), action="place", previewed_as=fingerprint)
    assert changed.status_code == 200
    assert "changed since the preview" in changed.content.decode()
    assert "Place 3 orders" in changed.content.decode()
    assert not Order.objects.exists()
    assert buyer.get(url).status_code == 200


def test_a_budget_refusal_is_a_message_on_the_form():
    preset = a_preset((SandboxServiceFactory(service_id=9100, provider=a_real_provider()), 1000))
    buyer = person("buyer", "Buyer")
    Budget.objects.create(user=buyer, amount=Decimal("2.00"))
    response = apply(client_of(buyer), preset, links(2), action="place")
    assert response.status_code == 200
    page = response.content.decode()
    assert "$2.46912; your budget for" in page and "has $2.00 left." in page
    assert not Order.objects.exists()


def test_the_funds_of_the_provider_are_counted_in_the_preview():
    Provider.objects.filter(name="Sandbox").update(balance=Decimal("1.50"))
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    page = apply(client_of(person("buyer", "Buyer")), preset, links(2)).content.decode()
    assert "Not enough funds: balance $0.26544" in page


def test_who_may_see_edit_and_apply_presets():
    preset = a_preset((SandboxServiceFactory(service_id=9100), 1000))
    viewer, buyer = client_of(person("viewer", "Viewer")), client_of(person("buyer", "Buyer"))
    assert viewer.get(reverse("presets:preset_list")).status_code == 403
    assert viewer.get(reverse("presets:preset_apply", args=[preset.pk])).status_code == 403
    assert viewer.get(reverse("presets:preset_edit", args=[preset.pk])).status_code == 403
    assert ">Presets</a>" not in viewer.get(reverse("orders:order_list")).content.decode()
    assert ">Presets</a>" in buyer.get(reverse("orders:order_list")).content.decode()
    assert apply(viewer, preset, links(1), action="place", previewed_as="x").status_code == 403
    assert not Order.objects.exists()
    archived = buyer.post(reverse("presets:preset_archive", args=[preset.pk]))
    assert archived.status_code == 302
    assert buyer.get(reverse("presets:preset_apply", args=[preset.pk])).status_code == 404
    assert Preset.objects.get().active is False
