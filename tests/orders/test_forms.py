"""The order form and the mass-order format shared by the pages and the commands."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.forms import MassOrderForm, OrderForm
from orders.models import Order
from orders.services.mass import mass_order_parse, mass_order_place, mass_order_total

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_order_form_queues_one_order_and_the_same_post_twice_returns_it(followers, sandbox):
    data = {
        "service": followers.pk,
        "link": "https://instagram.com/p/f",
        "quantity": 100,
        "submission_token": "t1",
    }
    form = OrderForm(data)
    assert form.is_valid(), form.errors
    first = form.place(enqueue=False)

    again = OrderForm(data)
    assert again.is_valid()
    assert again.place(enqueue=False) == first
    assert Order.objects.count() == 1


def test_the_order_form_puts_each_problem_on_its_field(followers):
    form = OrderForm(
        {"service": followers.pk, "link": "https://tiktok.com/@a", "quantity": 1, "submission_token": "t"}
    )
    assert form.is_valid() and form.check() is None
    assert "not an Instagram link" in form.errors["link"][0]


def test_a_mass_order_is_parsed_line_by_line_with_per_type_fields(followers, catalog, sandbox):
    comments = catalog("Custom Comments", category__startswith="Instagram")
    many = "\\n".join(f"nice {n}" for n in range(comments.min_quantity))
    text = (
        f"{followers.service_id} | https://instagram.com/p/1 | 100 | runs=2 | interval=30\n"
        f"{comments.service_id} | https://instagram.com/p/2 | | comments={many}\n"
        "# skipped\n"
        f"{followers.service_id} | https://instagram.com/p/3\n"
        "999999 | https://instagram.com/p/4 | 100\n"
        f"{followers.service_id} | https://instagram.com/p/5 | 100 | runs\n"
    )

    lines = mass_order_parse(text, provider=sandbox)

    assert [(line.number, line.ok) for line in lines] == [
        (1, True),
        (2, True),
        (4, False),
        (5, False),
        (6, False),
    ]
    assert lines[0].draft.fields["runs"] == 2 and lines[0].draft.estimate == Decimal("0.18000")
    assert lines[1].draft.quantity == comments.min_quantity
    assert lines[2].error == "quantity: This field is required."
    assert "has no service 999999" in lines[3].error
    assert "expected name=value" in lines[4].error
    assert mass_order_total(lines) == lines[0].draft.estimate + lines[1].draft.estimate


def test_the_lines_of_a_mass_order_must_fit_the_balance_together(followers, sandbox):
    sandbox.balance = Decimal("0.20")
    sandbox.save()
    text = "\n".join(f"{followers.service_id} | https://instagram.com/p/{n} | 100" for n in range(3))

    lines = mass_order_parse(text, provider=sandbox)

    assert [line.ok for line in lines] == [True, True, False]
    assert lines[2].error == "Not enough funds: balance $0.02, this order costs $0.09"


def test_a_mass_order_placed_twice_with_one_token_gives_the_same_orders(followers, sandbox):
    text = "\n".join(f"{followers.service_id} | https://instagram.com/p/{n} | 100" for n in range(3))
    lines = mass_order_parse(text, provider=sandbox)

    first = mass_order_place(lines=lines, provider=sandbox, token="mass-1", enqueue=False)
    second = mass_order_place(lines=lines, provider=sandbox, token="mass-1", enqueue=False)

    assert [o.pk for o in first] == [o.pk for o in second]
    assert Order.objects.count() == 3


def test_the_mass_order_form_drops_bad_lines_when_placing(followers, sandbox):
    text = f"{followers.service_id} | https://instagram.com/p/1 | 100\nnonsense\n"
    form = MassOrderForm({"provider": sandbox.pk, "text": text, "submission_token": "m"})
    assert form.is_valid(), form.errors
    assert [line.ok for line in form.lines] == [True, False]
    assert len(form.place(enqueue=False)) == 1
