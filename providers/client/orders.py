"""The `add` parameter sets per service type (§1.4), their validation and wire encoding."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OrderValue = str | int | datetime.date | Iterable[str] | None

# type name as `services` reports it -> (required fields, optional fields)
SERVICE_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Default": (("link", "quantity"), ("runs", "interval")),
    "Package": (("link",), ()),
    "SEO": (("link", "quantity", "keywords"), ()),
    "Custom Comments": (("link", "comments"), ()),
    "Custom Comments Package": (("link", "comments"), ()),
    "Mentions": (("link", "quantity", "usernames"), ()),
    "Mentions with Hashtags": (("link", "quantity", "usernames", "hashtags"), ()),
    "Mentions Custom List": (("link", "usernames"), ()),
    "Mentions Hashtag": (("link", "quantity", "hashtag"), ()),
    "Mentions User Followers": (("link", "quantity", "username"), ()),
    "Mentions Media Likers": (("link", "quantity", "media"), ()),
    "Comment Likes": (("link", "quantity", "username"), ()),
    "Comment Replies": (("link", "username", "comments"), ()),
    "Poll": (("link", "quantity", "answer_number"), ()),
    "Invites from Groups": (("link", "quantity", "groups"), ()),
    "Subscriptions": (("username", "min", "max", "delay"), ("posts", "old_posts", "expiry")),
    "Web Traffic": (
        ("link", "quantity", "country", "device", "type_of_traffic"),
        ("runs", "interval", "google_keyword", "referring_url"),
    ),
}

# field -> smallest allowed value
INT_FIELDS = {
    "quantity": 1,
    "runs": 1,
    "interval": 1,
    "answer_number": 1,
    "min": 1,
    "max": 1,
    "posts": 0,
    "old_posts": 0,
    "delay": 0,
    "device": 1,
    "type_of_traffic": 1,
}
LINES_FIELDS = frozenset({"keywords", "comments", "usernames", "hashtags", "groups"})
DATE_FIELDS = frozenset({"expiry"})
TEXT_FIELDS = frozenset(
    {"link", "hashtag", "username", "media", "country", "google_keyword", "referring_url"}
)
ORDER_FIELDS = frozenset(INT_FIELDS) | LINES_FIELDS | DATE_FIELDS | TEXT_FIELDS

# Union of the delay lists of old and new Perfect Panel templates (minutes).
SUBSCRIPTION_DELAYS = frozenset(
    {0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600}
)
WEB_TRAFFIC_DEVICES = {
    1: "Desktop",
    2: "Mobile (Android)",
    3: "Mobile (iOS)",
    4: "Mixed (Mobile)",
    5: "Mixed",
}
WEB_TRAFFIC_TYPES = {1: "Google Keyword", 2: "Custom Referrer", 3: "Blank Referrer"}
EXPIRY_FORMAT = "%d/%m/%Y"


class OrderFieldError(ValueError):
    """Order fields that the panel would reject; `errors` maps field name to a sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


def encode_order_fields(fields: Mapping[str, OrderValue]) -> dict[str, str]:
    """The form parameters for `add`: lists one per line, dates as d/m/Y, None left out.

    Unknown field names are refused before anything is sent, so a typo cannot silently
    become an order without the field.
    """
    unknown = sorted(set(fields) - ORDER_FIELDS)
    if unknown:
        raise OrderFieldError({name: "not a parameter of `add`" for name in unknown})
    params: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            raise OrderFieldError({name: "expected a number or text, got a boolean"})
        if isinstance(value, datetime.date):
            params[name] = value.strftime(EXPIRY_FORMAT)
        elif isinstance(value, str | int):
            params[name] = str(value)
        else:
            params[name] = "\n".join(str(item) for item in value)
    return params


def _clean_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a whole number") from None
    if number < INT_FIELDS[name]:
        raise ValueError(f"must be at least {INT_FIELDS[name]}")
    return number


def _clean_lines(value: Any) -> str:
    items = value.splitlines() if isinstance(value, str) else [str(item) for item in value]
    lines = [line.strip() for line in items if line.strip()]
    if not lines:
        raise ValueError("enter at least one line")
    return "\n".join(lines)


def _clean_date(value: Any) -> str:
    if isinstance(value, datetime.date):
        return value.strftime(EXPIRY_FORMAT)
    try:
        return datetime.datetime.strptime(str(value).strip(), EXPIRY_FORMAT).strftime(EXPIRY_FORMAT)
    except ValueError:
        raise ValueError("expected a date as dd/mm/yyyy") from None


def _clean_text(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("this field is required")
    return text


def _clean(name: str, value: Any) -> str | int:
    if name in INT_FIELDS:
        return _clean_int(name, value)
    if name in LINES_FIELDS:
        return _clean_lines(value)
    if name in DATE_FIELDS:
        return _clean_date(value)
    return _clean_text(value)


def _cross_check(service_type: str, cleaned: dict[str, str | int], errors: dict[str, str]) -> None:
    if ("runs" in cleaned) != ("interval" in cleaned) and not errors.keys() & {"runs", "interval"}:
        missing = "interval" if "runs" in cleaned else "runs"
        errors[missing] = "drip-feed needs both runs and interval"
    if service_type == "Subscriptions":
        if "min" in cleaned and "max" in cleaned and int(cleaned["min"]) > int(cleaned["max"]):
            errors["max"] = "must not be less than min"
        if "delay" in cleaned and cleaned["delay"] not in SUBSCRIPTION_DELAYS:
            errors["delay"] = "must be one of " + ", ".join(str(d) for d in sorted(SUBSCRIPTION_DELAYS))
    if service_type == "Web Traffic":
        if "device" in cleaned and cleaned["device"] not in WEB_TRAFFIC_DEVICES:
            errors["device"] = "must be 1 to 5"
        traffic = cleaned.get("type_of_traffic")
        if traffic is not None and traffic not in WEB_TRAFFIC_TYPES:
            errors["type_of_traffic"] = "must be 1, 2 or 3"
        if traffic == 1 and "google_keyword" not in cleaned:
            errors["google_keyword"] = "required for Google Keyword traffic"
        if traffic == 2 and "referring_url" not in cleaned:
            errors["referring_url"] = "required for Custom Referrer traffic"


def validate_order_fields(service_type: str, fields: Mapping[str, Any]) -> dict[str, str | int]:
    """Check and normalise the `add` fields for a service type; raise OrderFieldError."""
    if service_type not in SERVICE_TYPES:
        raise OrderFieldError({"type": f"unsupported service type {service_type!r}"})
    required, optional = SERVICE_TYPES[service_type]
    errors: dict[str, str] = {}
    cleaned: dict[str, str | int] = {}
    for name in sorted(set(fields) - set(required) - set(optional)):
        errors[name] = f"not used by {service_type} services"
    for name in (*required, *optional):
        value = fields.get(name)
        if value is None or value == "":
            if name in required:
                errors[name] = "this field is required"
            continue
        try:
            cleaned[name] = _clean(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    _cross_check(service_type, cleaned, errors)
    if errors:
        raise OrderFieldError(errors)
    return cleaned


@dataclass(frozen=True)
class OrderRequest:
    """A validated `add` call: `client.add(request.service, **request.fields)`."""

    service: int
    service_type: str
    fields: dict[str, str | int]

    @classmethod
    def build(cls, *, service: int, service_type: str, **fields: Any) -> OrderRequest:
        return cls(
            service=service, service_type=service_type, fields=validate_order_fields(service_type, fields)
        )
