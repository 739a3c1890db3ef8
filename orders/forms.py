"""The order form and the mass-order form."""

from __future__ import annotations

import secrets
from decimal import Decimal
from functools import cached_property
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from catalog.models import MAX_QUANTITY, Service, ShortlistEntry, TeamPolicy
from orders.models import Order
from orders.services.common import OrderInvalid
from orders.services.mass import (
    MASS_FORMAT,
    MAX_CHARACTERS,
    MassLine,
    mass_order_parse,
    mass_order_place,
    mass_order_total,
)
from orders.services.placing import OrderDraft, order_place, order_validate, uncharged_total
from providers.client.orders import WEB_TRAFFIC_DEVICES, WEB_TRAFFIC_TYPES
from providers.models import Provider
from team.models import Campaign

# Fields holding one item per line.
LINES_FIELDS = ("comments", "usernames", "hashtags", "groups", "keywords")
ORDER_FIELD_NAMES = (
    "link",
    "quantity",
    "runs",
    "interval",
    *LINES_FIELDS,
    "hashtag",
    "username",
    "media",
    "answer_number",
    "min",
    "max",
    "posts",
    "old_posts",
    "delay",
    "expiry",
    "country",
    "device",
    "type_of_traffic",
    "google_keyword",
    "referring_url",
)


def _text(label: str = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(required=False, label=label or None, **kwargs)


def _lines(help_text: str) -> forms.CharField:
    return forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=help_text)


def _number(label: str = "", min_value: int = 0) -> forms.IntegerField:
    # The columns' bound here; the service and `order_validate` say what fits the order.
    return forms.IntegerField(
        required=False, min_value=min_value, max_value=MAX_QUANTITY, label=label or None
    )


def _choice(choices: dict[int, str]) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=[("", "—"), *choices.items()]
    )


class OrderForm(forms.Form):
    """One order of any service type; only the fields the service's type uses are checked.

    `submission_token` comes with the page: posting the same form twice returns the order
    saved the first time.
    """

    service = forms.ModelChoiceField(queryset=Service.objects.filter(active=True).select_related("provider"))
    link = _text(max_length=500)
    quantity = _number(min_value=1)
    runs = _number("Drip-feed runs", min_value=1)
    interval = _number("Minutes between runs", min_value=1)
    comments = _lines("One comment per line")
    usernames = _lines("One username per line")
    hashtags = _lines("One hashtag per line")
    groups = _lines("One group per line")
    keywords = _lines("One keyword per line")
    hashtag = _text(max_length=255)
    username = _text(max_length=255)
    media = _text("Media link", max_length=500)
    answer_number = _number("Answer number", min_value=1)
    min = _number("Minimum per post", min_value=1)
    max = _number("Maximum per post", min_value=1)
    posts = _number("New posts")
    old_posts = _number("Old posts")
    delay = _number("Delay (minutes)")
    expiry = _text("Expiry (dd/mm/yyyy)")
    country = _text(max_length=100)
    device = _choice(WEB_TRAFFIC_DEVICES)
    type_of_traffic = _choice(WEB_TRAFFIC_TYPES)
    google_keyword = _text(max_length=255)
    referring_url = _text("Referring URL", max_length=500)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.filter(active=True), required=False, empty_label="No campaign"
    )
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, user: AbstractBaseUser | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["submission_token"].initial = secrets.token_urlsafe(24)
        _campaigns_open_to(self, user)
        self.draft: OrderDraft | None = None

    @cached_property
    def shortlist(self) -> list[ShortlistEntry]:
        """The team's shortlisted services that can be ordered now, offered before all others."""
        return list(
            ShortlistEntry.objects.filter(service__active=True, service__provider__active=True)
            .select_related("service__provider")
            .order_by("house_name", "pk")
        )

    @cached_property
    def shortlisted_ids(self) -> frozenset[int]:
        return frozenset(entry.service_id for entry in self.shortlist)

    @cached_property
    def team_policy(self) -> TeamPolicy:
        """The shortlist rule, said beside the shortlist so that nobody fills a form in vain."""
        return TeamPolicy.current()

    def add_fields(self) -> dict[str, Any]:
        """The `add` fields as typed (after `is_valid()`)."""
        return {name: self.cleaned_data.get(name) for name in ORDER_FIELD_NAMES}

    def check(self) -> OrderDraft | None:
        """The order as it would be placed now (after `is_valid()`), or None with its problems
        on the form's fields: the live estimate shows them while the form is being filled."""
        service = self.cleaned_data["service"]
        try:
            self.draft = order_validate(
                service=service,
                fields=self.add_fields(),
                already_committed=uncharged_total(provider=service.provider),
            )
        except OrderInvalid as exc:
            _add_errors(self, exc)
        return self.draft

    def place(
        self, *, user: AbstractBaseUser | None = None, ip: str | None = None, enqueue: bool = True
    ) -> Order | None:
        """Queue the order (after `is_valid()`); the same form posted again gives the same order.

        None when it is refused: the reasons are then on the form's fields.
        """
        try:
            return order_place(
                service=self.cleaned_data["service"],
                fields=self.add_fields(),
                submission_token=self.cleaned_data["submission_token"],
                campaign=self.cleaned_data.get("campaign"),
                user=user,
                ip=ip,
                enqueue=enqueue,
            )
        except OrderInvalid as exc:
            _add_errors(self, exc)
            return None


def _campaigns_open_to(form: forms.Form, user: AbstractBaseUser | None) -> None:
    """Offer the open campaigns `user` may order for (all of them to the system: no user)."""
    field = form.fields["campaign"]
    field.queryset = field.queryset.open_to(user)


def _add_errors(form: forms.Form, exc: OrderInvalid) -> None:
    """A service's refusal on the form: under the field it names, else above the form."""
    for name, message in exc.errors.items():
        form.add_error(name if name in form.fields else None, message)


# Mass orders -----------------------------------------------------------------------------------


class MassOrderForm(forms.Form):
    """A pasted or uploaded mass order; `lines` holds each line's draft or error after `is_valid()`."""

    provider = forms.ModelChoiceField(queryset=Provider.objects.filter(active=True))
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 12}), help_text=MASS_FORMAT)
    file = forms.FileField(required=False)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.filter(active=True), required=False, empty_label="No campaign"
    )
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def __init__(self, *args: Any, user: AbstractBaseUser | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["submission_token"].initial = secrets.token_urlsafe(24)
        _campaigns_open_to(self, user)
        self.lines: list[MassLine] = []

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > MAX_CHARACTERS:
            raise forms.ValidationError("The file is larger than 1 MB: split it into smaller ones.")
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("provider") is None or self.has_error("file"):
            return cleaned
        upload = cleaned.get("file")
        text = upload.read().decode("utf-8", errors="replace") if upload else cleaned.get("text", "")
        try:
            self.lines = mass_order_parse(text, provider=cleaned["provider"])
        except OrderInvalid as exc:
            _add_errors(self, exc)
            return cleaned
        if not self.lines:
            raise forms.ValidationError(f"Enter at least one line: {MASS_FORMAT}")
        return cleaned

    @property
    def total(self) -> Decimal:
        return mass_order_total(self.lines)

    def place(
        self, *, user: AbstractBaseUser | None = None, ip: str | None = None, enqueue: bool = True
    ) -> list[Order]:
        """Queue the valid lines (bad lines are dropped: the preview showed them).

        An empty list when a budget refuses them: the reason is then among the form's errors.
        """
        try:
            return mass_order_place(
                lines=self.lines,
                provider=self.cleaned_data["provider"],
                token=self.cleaned_data["submission_token"],
                user=user,
                ip=ip,
                campaign=self.cleaned_data.get("campaign"),
                enqueue=enqueue,
            )
        except OrderInvalid as exc:
            _add_errors(self, exc)
            return []
