"""JAP API v2 on the wire: lenient parameter reading, action dispatch and the exact answer shapes.

The shapes copy JAP's quirks on purpose (doc §1.3-1.8): string keys in multi-status, the single
refill id as a string but multi refill ids as numbers, per-item errors inside lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, QueryDict

from providers.sandbox import services
from providers.sandbox.models import Account, Order, OrderKind, Service
from providers.sandbox.services import INCORRECT_ORDER, INCORRECT_REQUEST, INVALID_KEY, SandboxError

MAX_IDS = 100
TOO_MANY_IDS = f"Too many IDs, the limit is {MAX_IDS} per request"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Params = Mapping[str, str]


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


def json_response(payload: object) -> HttpResponse:
    # PHP-style compact JSON, as JAP's json_encode prints it.
    return HttpResponse(json.dumps(payload, separators=(",", ":")), content_type="application/json")


def api_answer(*, account: Account | None, params: Params) -> object:
    """The JSON payload JAP would answer: key first, then the action, then its own checks."""
    if account is None:
        return {"error": INVALID_KEY}
    handler = ACTIONS.get(params.get("action", "").strip())
    if handler is None:
        return {"error": INCORRECT_REQUEST}
    try:
        return handler(account, params)
    except SandboxError as error:
        return {"error": error.sentence}


def _ids(params: Params, name: str) -> list[str]:
    ids = list(dict.fromkeys(part.strip() for part in params[name].split(",") if part.strip()))
    if not ids:
        raise SandboxError(INCORRECT_REQUEST)
    if len(ids) > MAX_IDS:
        raise SandboxError(TOO_MANY_IDS)
    return ids


def _number(raw: str) -> int | str:
    return int(raw) if raw.isascii() and raw.isdigit() else raw


def _money(value: Decimal) -> str:
    return f"{value:.5f}"


def _rate(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# Shapes -------------------------------------------------------------------------------------


def service_shape(service: Service) -> dict[str, object]:
    """One `services` item, live-JAP style: int id and bounds, string rate, this key order."""
    return {
        "service": service.id,
        "name": service.name,
        "type": service.type,
        "rate": _rate(service.rate),
        "min": service.min,
        "max": service.max,
        "dripfeed": service.dripfeed,
        "refill": service.refill,
        "cancel": service.cancel,
        "category": service.category,
    }


def order_shape(order: Order) -> dict[str, object]:
    """The `status` answer for one order, drip-feed parent or subscription parent."""
    if order.kind == OrderKind.DRIPFEED:
        return {
            "status": order.status,
            "runs": str(order.runs),
            "orders": [str(child.pk) for child in services.order_children(order=order)],
        }
    if order.kind == OrderKind.SUBSCRIPTION:
        children = services.order_children(order=order)
        return {
            "status": order.status,
            "expiry": order.params["expiry"],
            "posts": str(order.progress),
            "orders": [str(child.pk) for child in children if not child.old_post],
            "old_orders": [str(child.pk) for child in children if child.old_post],
        }
    return {
        "charge": _money(order.charge),
        "start_count": "" if order.start_count is None else str(order.start_count),
        "status": order.status,
        "remains": str(order.remains),
        "currency": order.account.currency,
    }


# Actions ------------------------------------------------------------------------------------


def _services(account: Account, params: Params) -> object:
    return [service_shape(service) for service in services.service_list()]


def _add(account: Account, params: Params) -> object:
    return {"order": services.order_add(account=account, params=params).pk}


def _status(account: Account, params: Params) -> object:
    if "orders" in params:
        found = services.orders_get(account=account, ids=_ids(params, "orders"))
        return {
            raw: order_shape(order) if order else {"error": INCORRECT_ORDER} for raw, order in found.items()
        }
    # Older copies of JAP's example send `id` instead of `order`.
    raw = params.get("order") or params.get("id")
    if not raw:
        raise SandboxError(INCORRECT_REQUEST)
    return order_shape(services.order_get(account=account, raw_id=raw))


def _refill_one(account: Account, raw: str) -> int:
    return services.refill_create(order=services.order_get(account=account, raw_id=raw)).pk


def _refill(account: Account, params: Params) -> object:
    if "orders" in params:
        answers = []
        for raw in _ids(params, "orders"):
            try:
                answers.append({"order": _number(raw), "refill": _refill_one(account, raw)})
            except SandboxError as error:
                answers.append({"order": _number(raw), "refill": {"error": error.sentence}})
        return answers
    if not params.get("order"):
        raise SandboxError(INCORRECT_REQUEST)
    return {"refill": str(_refill_one(account, params["order"]))}


def _refill_status(account: Account, params: Params) -> object:
    if "refills" in params:
        found = services.refills_get(account=account, ids=_ids(params, "refills"))
        return [
            {
                "refill": _number(raw),
                "status": refill.status if refill else {"error": services.REFILL_NOT_FOUND},
            }
            for raw, refill in found.items()
        ]
    if not params.get("refill"):
        raise SandboxError(INCORRECT_REQUEST)
    refill = services.refills_get(account=account, ids=[params["refill"]])[params["refill"]]
    if refill is None:
        raise SandboxError(services.REFILL_NOT_FOUND)
    return {"status": refill.status}


def _cancel(account: Account, params: Params) -> object:
    # JAP documents only `orders`; a single `order` is accepted too and answered the same way.
    name = "orders" if "orders" in params else "order"
    if not params.get(name):
        raise SandboxError(INCORRECT_REQUEST)
    answers = []
    for raw, order in services.orders_get(account=account, ids=_ids(params, name)).items():
        try:
            if order is None:
                raise SandboxError(INCORRECT_ORDER)
            services.order_cancel(order=order)
            answers.append({"order": _number(raw), "cancel": 1})
        except SandboxError as error:
            answers.append({"order": _number(raw), "cancel": {"error": error.sentence}})
    return answers


def _balance(account: Account, params: Params) -> object:
    account = services.account_balance(account=account)
    return {"balance": _money(account.balance), "currency": account.currency}


ACTIONS: dict[str, Callable[[Account, Params], object]] = {
    "services": _services,
    "add": _add,
    "status": _status,
    "refill": _refill,
    "refill_status": _refill_status,
    "cancel": _cancel,
    "balance": _balance,
}
