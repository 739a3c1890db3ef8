"""The order form and the mass-order format, shared by the pages and the commands."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from catalog.models import Service, ShortlistEntry
from orders.models import Order
from orders.services import (
    ZERO,
    OrderDraft,
    OrderInvalid,
    order_validate,
    orders_create,
    uncharged_total,
)
from providers.client.orders import WEB_TRAFFIC_DEVICES, WEB_TRAFFIC_TYPES
from providers.models import Provider
from team.models import Campaign, TeamPolicy

MASS_FORMAT = "service_id | link | quantity | name=value | …"
# Fields holding one item per line; in a mass-order line they are separated by a literal "\n".
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
    return forms.IntegerField(required=False, min_value=min_value, label=label or None)


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["submission_token"].initial = secrets.token_urlsafe(24)
        self.draft: OrderDraft | None = None
        self.existing: Order | None = None

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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        service, token = cleaned.get("service"), cleaned.get("submission_token")
        if service is None or not token:
            return cleaned
        self.existing = Order.objects.filter(submission_token=token).first()
        if self.existing is not None:
            return cleaned  # posted twice: the first post decided
        fields = {name: cleaned.get(name) for name in ORDER_FIELD_NAMES}
        try:
            self.draft = order_validate(
                service=service, fields=fields, already_committed=uncharged_total(provider=service.provider)
            )
        except OrderInvalid as exc:
            for name, message in exc.errors.items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def place(
        self, *, user: AbstractBaseUser | None = None, ip: str | None = None, enqueue: bool = True
    ) -> Order | None:
        """Queue the validated order (call after `is_valid()`); the same token gives the same order.

        None when a budget refuses it: the reason is then among the form's errors.
        """
        if self.existing is not None:
            return self.existing
        assert self.draft is not None, "place() needs a valid form"
        token = self.cleaned_data["submission_token"]
        try:
            orders = orders_create(
                drafts=[self.draft],
                user=user,
                ip=ip,
                tokens=[token],
                campaign=self.cleaned_data.get("campaign"),
                enqueue=enqueue,
            )
        except OrderInvalid as exc:
            for name, message in exc.errors.items():
                self.add_error(name if name in self.fields else None, message)
            return None
        return orders[0]


# Mass orders -----------------------------------------------------------------------------------


@dataclass
class MassLine:
    """One line of a mass order: its number in the text, and a draft or the reason it is refused."""

    number: int
    text: str
    draft: OrderDraft | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.draft is not None


def _line_fields(parts: list[str]) -> dict[str, Any]:
    """`service | link | quantity | name=value …` without the service, as `add` fields."""
    fields: dict[str, Any] = {
        "link": parts[0] if parts else "",
        "quantity": parts[1] if len(parts) > 1 else "",
    }
    for part in parts[2:]:
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected name=value after the quantity, got {part!r}")
        name = name.strip()
        if fields.get(name) not in (None, ""):
            raise ValueError(f"{name} given twice")
        value = value.strip()
        fields[name] = value.replace("\\n", "\n") if name in LINES_FIELDS else value
    return fields


def mass_order_parse(text: str, *, provider: Provider) -> list[MassLine]:
    """Parse and validate every line of a mass order for `provider`, as if all were placed.

    Blank lines and lines starting with `#` are skipped. Each line is checked like a single
    order; the balance check counts the lines above it, so the total must fit the balance.
    """
    lines: list[MassLine] = []
    parsed: list[tuple[MassLine, int, dict[str, Any]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        line = MassLine(number=number, text=raw.strip())
        lines.append(line)
        parts = [part.strip() for part in raw.split("|")]
        if not parts[0].isdigit():
            line.error = f"Expected {MASS_FORMAT}: the service id {parts[0]!r} is not a number."
            continue
        try:
            fields = _line_fields(parts[1:])
        except ValueError as exc:
            line.error = f"Expected {MASS_FORMAT}: {exc}."
            continue
        service_id = int(parts[0])
        parsed.append((line, service_id, fields))
    services = {
        service.service_id: service
        for service in Service.objects.filter(
            provider=provider, service_id__in={service_id for _, service_id, _ in parsed}
        ).select_related("provider")
    }
    committed = uncharged_total(provider=provider)
    for line, service_id, fields in parsed:
        service = services.get(service_id)
        if service is None:
            line.error = f"service: {provider.name} has no service {service_id} (sync the catalog?)."
            continue
        try:
            line.draft = order_validate(service=service, fields=fields, already_committed=committed)
        except OrderInvalid as exc:
            line.error = str(exc)
            continue
        committed += line.draft.estimate
    return lines


def mass_order_total(lines: list[MassLine]) -> Decimal:
    return sum((line.draft.estimate for line in lines if line.draft), ZERO)


def mass_order_place(
    *,
    lines: list[MassLine],
    token: str,
    user: AbstractBaseUser | None = None,
    ip: str | None = None,
    campaign: Campaign | None = None,
    enqueue: bool = True,
) -> list[Order]:
    """Queue every valid line as its own order; the same token twice returns the same orders.

    Raises OrderInvalid when the lines together would exceed a budget: none is queued then.
    """
    valid = [line for line in lines if line.draft is not None]
    return orders_create(
        drafts=[line.draft for line in valid],
        tokens=[f"{token}:{line.number}" for line in valid],
        user=user,
        ip=ip,
        campaign=campaign,
        enqueue=enqueue,
    )


class MassOrderForm(forms.Form):
    """A pasted or uploaded mass order; `lines` holds each line's draft or error after `is_valid()`."""

    provider = forms.ModelChoiceField(queryset=Provider.objects.filter(active=True))
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 12}), help_text=MASS_FORMAT)
    file = forms.FileField(required=False)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.filter(active=True), required=False, empty_label="No campaign"
    )
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["submission_token"].initial = secrets.token_urlsafe(24)
        self.lines: list[MassLine] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = upload.read().decode("utf-8", errors="replace") if upload else cleaned.get("text", "")
        if cleaned.get("provider") is None:
            return cleaned
        self.lines = mass_order_parse(text, provider=cleaned["provider"])
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
                token=self.cleaned_data["submission_token"],
                user=user,
                ip=ip,
                campaign=self.cleaned_data.get("campaign"),
                enqueue=enqueue,
            )
        except OrderInvalid as exc:
            for message in exc.errors.values():
                self.add_error(None, message)
            return []
