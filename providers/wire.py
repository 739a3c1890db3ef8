"""JAP API v2 on the wire, for both places that serve it: the sandbox and the team API (`api`).

One module reads requests leniently and renders the answers' exact shapes, so the two never
drift apart. The shapes copy JAP's quirks on purpose (doc §1.3-1.8): string keys in
multi-status, the single refill id as a string but multi refill ids as numbers, per-item errors
inside lists. What each action means is a `Backend`'s business; the wire only calls it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from django.http import HttpRequest, HttpResponse, QueryDict

MAX_IDS = 100
INVALID_KEY = "Invalid API key"
INCORRECT_REQUEST = "Incorrect request"
INCORRECT_ORDER = "Incorrect order ID"
REFILL_NOT_FOUND = "Refill not found"
TOO_MANY_IDS = f"Too many IDs, the limit is {MAX_IDS} per request"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Params = Mapping[str, str]


class WireError(Exception):
    """A refusal, answered as `{"error": sentence}` (inside a list for one item of a multi call)."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


class Backend(Protocol):
    """What one API key may see and do; each method raises WireError to refuse."""

    def services(self) -> list[dict[str, object]]: ...

    def add(self, params: Params) -> int: ...

    def statuses(self, ids: list[str]) -> dict[str, dict[str, object] | None]:
        """The `status` shape of each id (None: no such order for this key)."""
        ...

    def refill(self, raw_id: str) -> int: ...

    def refills(self, ids: list[str]) -> dict[str, int | WireError]: ...

    def refill_statuses(self, ids: list[str]) -> dict[str, str | None]: ...

    def cancel(self, ids: list[str]) -> dict[str, WireError | None]:
        """Each order's refusal, or None when its cancel was accepted."""
        ...

    def balance(self) -> tuple[Decimal, str]: ...


# Requests -----------------------------------------------------------------------------------


def request_params(request: HttpRequest) -> dict[str, str]:
    """Parameters from the query string and the body (form or JSON object); the body wins."""
    params = {name: request.GET.get(name, "") for name in request.GET}
    params.update(_body_params(request))
    return params


def _body_params(request: HttpRequest) -> dict[str, str]:
    if request.method == "POST" and request.content_type in FORM_TYPES:
        return {name: request.POST.get(name, "") for name in request.POST}
    body = request.body
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        # A form body sent without a form content type (or with GET) is still a form body.
        return {name: value for name, value in QueryDict(body).items()}
    if not isinstance(data, dict):
        return {}
    return {str(name): _as_text(value) for name, value in data.items()}


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(_as_text(item) for item in value)
    if isinstance(value, dict):
        return ""
    return str(value)


def ids_param(params: Params, name: str) -> list[str]:
    """The comma-separated ids of `name`, each once, at most MAX_IDS."""
    ids = list(dict.fromkeys(part.strip() for part in params[name].split(",") if part.strip()))
    if not ids:
        raise WireError(INCORRECT_REQUEST)
    if len(ids) > MAX_IDS:
        raise WireError(TOO_MANY_IDS)
    return ids


# Answers ------------------------------------------------------------------------------------


def json_response(payload: object, *, status: int = 200) -> HttpResponse:
    # PHP-style compact JSON, as JAP's json_encode prints it.
    return HttpResponse(
        json.dumps(payload, separators=(",", ":")), content_type="application/json", status=status
    )


def error_response(sentence: str, *, status: int = 200) -> HttpResponse:
    return json_response({"error": sentence}, status=status)


def number(raw: str) -> int | str:
    return int(raw) if raw.isascii() and raw.isdigit() else raw


def money(value: Decimal) -> str:
    return f"{value:.5f}"


def rate(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def service_shape(
    *,
    service: int,
    name: str,
    type: str,
    rate_per_1000: Decimal,
    min: int,
    max: int,
    dripfeed: bool,
    refill: bool,
    cancel: bool,
    category: str,
) -> dict[str, object]:
    """One `services` item, live-JAP style: int id and bounds, string rate, this key order."""
    return {
        "service": service,
        "name": name,
        "type": type,
        "rate": rate(rate_per_1000),
        "min": min,
        "max": max,
        "dripfeed": dripfeed,
        "refill": refill,
        "cancel": cancel,
        "category": category,
    }


def status_shape(
    *, charge: Decimal, start_count: int | None, status: str, remains: int | None, currency: str
) -> dict[str, object]:
    """The `status` answer for one plain order."""
    return {
        "charge": money(charge),
        "start_count": "" if start_count is None else str(start_count),
        "status": status,
        "remains": "" if remains is None else str(remains),
        "currency": currency,
    }


# Dispatch -----------------------------------------------------------------------------------


def api_answer(*, backend: Backend | None, params: Params) -> object:
    """The JSON payload JAP would answer: key first, then the action, then its own checks."""
    if backend is None:
        return {"error": INVALID_KEY}
    action = params.get("action", "").strip()
    if action not in ACTIONS:
        return {"error": INCORRECT_REQUEST}
    try:
        return ACTIONS[action](backend, params)
    except WireError as error:
        return {"error": error.sentence}


def _services(backend: Backend, params: Params) -> object:
    return backend.services()


def _add(backend: Backend, params: Params) -> object:
    return {"order": backend.add(params)}


def _status(backend: Backend, params: Params) -> object:
    if "orders" in params:
        found = backend.statuses(ids_param(params, "orders"))
        return {raw: shape if shape else {"error": INCORRECT_ORDER} for raw, shape in found.items()}
    # Older copies of JAP's example send `id` instead of `order`.
    raw = params.get("order") or params.get("id")
    if not raw:
        raise WireError(INCORRECT_REQUEST)
    shape = backend.statuses([raw])[raw]
    if shape is None:
        raise WireError(INCORRECT_ORDER)
    return shape


def _refill(backend: Backend, params: Params) -> object:
    if "orders" in params:
        answers = backend.refills(ids_param(params, "orders"))
        return [
            {
                "order": number(raw),
                "refill": {"error": answer.sentence} if isinstance(answer, WireError) else answer,
            }
            for raw, answer in answers.items()
        ]
    if not params.get("order"):
        raise WireError(INCORRECT_REQUEST)
    return {"refill": str(backend.refill(params["order"]))}


def _refill_status(backend: Backend, params: Params) -> object:
    if "refills" in params:
        found = backend.refill_statuses(ids_param(params, "refills"))
        return [
            {"refill": number(raw), "status": status if status else {"error": REFILL_NOT_FOUND}}
            for raw, status in found.items()
        ]
    raw = params.get("refill")
    if not raw:
        raise WireError(INCORRECT_REQUEST)
    status = backend.refill_statuses([raw])[raw]
    if status is None:
        raise WireError(REFILL_NOT_FOUND)
    return {"status": status}


def _cancel(backend: Backend, params: Params) -> object:
    # JAP documents only `orders`; a single `order` is accepted too and answered the same way.
    name = "orders" if "orders" in params else "order"
    if not params.get(name):
        raise WireError(INCORRECT_REQUEST)
    answers = backend.cancel(ids_param(params, name))
    return [
        {"order": number(raw), "cancel": {"error": refusal.sentence} if refusal else 1}
        for raw, refusal in answers.items()
    ]


def _balance(backend: Backend, params: Params) -> object:
    amount, currency = backend.balance()
    return {"balance": money(amount), "currency": currency}


ACTIONS = {
    "services": _services,
    "add": _add,
    "status": _status,
    "refill": _refill,
    "refill_status": _refill_status,
    "cancel": _cancel,
    "balance": _balance,
}
