"""The sandbox panel's business rules: accounts, the catalog, orders and refills, JAP style.

Refusals raise `SandboxError` with the sentence JAP answers (`{"error": sentence}`). Every read
first moves the orders it touches up to the sandbox clock (see `simulation`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models import F

from providers.sandbox import clock
from providers.sandbox.catalog_data import ServiceSpec, catalog_generate
from providers.sandbox.models import (
    FINAL_ORDER_STATUSES,
    Account,
    Order,
    OrderKind,
    Refill,
    RefillStatus,
    SandboxOrderStatus,
    Service,
    ServiceType,
)
from providers.sandbox.simulation import (
    ACCURACY,
    order_build,
    order_finish,
    orders_advance,
    refills_advance,
    seeded_rng,
    service_cost,
    subscription_child,
)
from providers.wire import INCORRECT_ORDER, WireError

REFILL_REJECTED_SHARE = 0.2
REFILL_COOLDOWN = timedelta(hours=24)
SUBSCRIPTION_DELAYS = frozenset(
    (0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
)
MAX_OLD_POSTS = 100
MAX_RUNS = 1000
MAX_LINK_LENGTH = 500
# Balances are DecimalField(max_digits=14, decimal_places=5): keep well clear of the limit.
MAX_TOPUP = Decimal("100000000")

INCORRECT_SERVICE = "Incorrect service ID"
INCORRECT_LINK = "Incorrect link"
NOT_ENOUGH_FUNDS = "Not enough funds on balance"
LINK_DUPLICATE = "You have active order with this link. Please wait until order being completed."
REFILL_DISABLED = "Refill is disabled for this service"
REFILL_UNAVAILABLE = "Refill is not available for this order"
REFILL_PENDING = "The refill task is not completed for this order"
REFILL_TOO_EARLY = "The order was completed or refill was requested less than 24 hours ago"
REFILL_DAYS_OVER = "Refill days are over"
CANCEL_DISABLED = "Cancel is disabled for this service"
CANCEL_UNAVAILABLE = "This order cannot be canceled"
DRIPFEED_DISABLED = "Drip-feed is disabled for this service"

# Fields that a service type requires besides link and quantity, each refused as "Incorrect <name>".
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    ServiceType.SEO: ("keywords",),
    ServiceType.MENTIONS: ("usernames",),
    ServiceType.MENTIONS_WITH_HASHTAGS: ("usernames", "hashtags"),
    ServiceType.MENTIONS_HASHTAG: ("hashtag",),
    ServiceType.MENTIONS_USER_FOLLOWERS: ("username",),
    ServiceType.MENTIONS_MEDIA_LIKERS: ("media",),
    ServiceType.COMMENT_LIKES: ("username",),
    ServiceType.COMMENT_REPLIES: ("username",),
    ServiceType.INVITES_FROM_GROUPS: ("groups",),
    ServiceType.WEB_TRAFFIC: ("country",),
}
# Types whose quantity is the number of non-empty lines of one field.
LINE_COUNTED: dict[str, str] = {
    ServiceType.CUSTOM_COMMENTS: "comments",
    ServiceType.CUSTOM_COMMENTS_PACKAGE: "comments",
    ServiceType.COMMENT_REPLIES: "comments",
    ServiceType.MENTIONS_CUSTOM_LIST: "usernames",
}
DRIPFEED_TYPES = (ServiceType.DEFAULT, ServiceType.WEB_TRAFFIC)


class SandboxError(WireError):
    """A refusal, answered as `{"error": sentence}` the way JAP does."""


def incorrect(name: str) -> SandboxError:
    return SandboxError(f"Incorrect {name.replace('_', ' ')}")


# Accounts ------------------------------------------------------------------------------------


def sandbox_account_get(*, using: str = DEFAULT_DB_ALIAS) -> Account:
    """The install's own sandbox account: the one the Sandbox provider uses.

    With SANDBOX_API_KEY set, the account of that key, created with the starting balance on
    first use. Without it, the `house` account, made once with a random key: every process (web,
    worker, beat) finds that key in the database, and it survives restarts. An install that ran
    with the published development key keeps that account (its orders and balance) under the
    new random key, so the published key stops working.
    """
    accounts = Account.objects.using(using)
    start = Decimal(str(settings.SANDBOX_START_BALANCE))
    if settings.SANDBOX_API_KEY:
        account, _ = accounts.get_or_create(api_key=settings.SANDBOX_API_KEY, defaults={"balance": start})
        return account
    if (house := accounts.filter(house=True).first()) is not None:
        return house
    key = secrets.token_urlsafe(32)
    try:
        with transaction.atomic(using=using):
            if not accounts.filter(api_key=settings.SANDBOX_DEVELOPMENT_KEY).update(house=True, api_key=key):
                accounts.create(house=True, api_key=key, balance=start)
    except IntegrityError:
        pass  # another process made it at the same moment: theirs is the one
    return accounts.get(house=True)


def account_authenticate(*, key: str) -> Account | None:
    """The account owning `key`, or None."""
    if not key:
        return None
    if key == settings.SANDBOX_API_KEY:
        return sandbox_account_get()
    return Account.objects.filter(api_key=key).first()


def account_topup(*, account: Account, amount: Decimal) -> Account:
    """Add `amount` (positive, at most 5 decimals, below MAX_TOPUP) to the account's balance."""
    if not amount.is_finite() or not 0 < amount < MAX_TOPUP or amount != amount.quantize(ACCURACY):
        raise ValueError(f"the amount must be above 0 and below {MAX_TOPUP} with at most 5 decimals")
    Account.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    account.refresh_from_db(fields=["balance"])
    return account


def account_balance(*, account: Account) -> Account:
    """The account with its balance after every refund that is due by now."""
    orders_advance(orders=Order.objects.filter(account=account).exclude(status__in=FINAL_ORDER_STATUSES))
    account.refresh_from_db(fields=["balance"])
    return account


# Catalog -------------------------------------------------------------------------------------


@cache
def _catalog() -> tuple[ServiceSpec, ...]:
    return tuple(catalog_generate())


def service_catalog_ensure() -> int:
    """Insert the catalog services that are missing (idempotent); return how many were added."""
    specs = _catalog()
    if Service.objects.count() >= len(specs):
        return 0
    existing = set(Service.objects.values_list("id", flat=True))
    missing = [Service(**asdict(spec)) for spec in specs if spec.id not in existing]
    # ignore_conflicts: two first requests may seed at the same time.
    Service.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def service_list() -> list[Service]:
    """The active services, by id."""
    service_catalog_ensure()
    return list(Service.objects.filter(active=True))


# Placing orders -------------------------------------------------------------------------------


@dataclass
class AddRequest:
    link: str = ""
    quantity: int = 0
    runs: int | None = None
    interval: int | None = None
    params: dict[str, object] = field(default_factory=dict)


def _text(params: Mapping[str, str], name: str) -> str:
    return str(params.get(name) or "").strip()


def _int(value: str) -> int | None:
    value = value.strip()
    if value.startswith("-"):
        return -int(value[1:]) if value[1:].isascii() and value[1:].isdigit() else None
    return int(value) if value.isascii() and value.isdigit() else None


def _lines(params: Mapping[str, str], name: str) -> list[str]:
    return [line.strip() for line in str(params.get(name) or "").splitlines() if line.strip()]


def _service_get(raw: str) -> Service:
    service_id = _int(raw)
    service = Service.objects.filter(pk=service_id, active=True).first() if service_id else None
    if service is None:
        raise SandboxError(INCORRECT_SERVICE)
    return service


def _link(params: Mapping[str, str]) -> str:
    link = _text(params, "link")
    if not link or len(link) > MAX_LINK_LENGTH or any(ch.isspace() for ch in link):
        raise SandboxError(INCORRECT_LINK)
    return link


def _quantity_check(service: Service, quantity: int) -> None:
    if quantity < service.min:
        raise SandboxError(f"Quantity less than minimal {service.min}")
    if quantity > service.max:
        raise SandboxError(f"Quantity more than maximum {service.max}")


def _dripfeed(service: Service, params: Mapping[str, str]) -> tuple[int | None, int | None]:
    runs_raw, interval_raw = _text(params, "runs"), _text(params, "interval")
    # Clients that always send the fields send them empty (or 0) to mean "no drip-feed".
    if runs_raw in ("", "0") and interval_raw in ("", "0"):
        return None, None
    if not service.dripfeed:
        raise SandboxError(DRIPFEED_DISABLED)
    runs, interval = _int(runs_raw), _int(interval_raw)
    if runs is None or not 1 <= runs <= MAX_RUNS:
        raise incorrect("runs")
    if interval is None or interval < 1:
        raise incorrect("interval")
    return runs, interval


def _web_traffic(params: Mapping[str, str], request: AddRequest) -> None:
    device, traffic = _int(_text(params, "device")), _int(_text(params, "type_of_traffic"))
    if device is None or not 1 <= device <= 5:
        raise incorrect("device")
    if traffic is None or not 1 <= traffic <= 3:
        raise incorrect("type_of_traffic")
    needed = {1: "google_keyword", 2: "referring_url"}.get(traffic)
    if needed:
        if not _text(params, needed):
            raise incorrect(needed)
        request.params[needed] = _text(params, needed)
    request.params.update(device=device, type_of_traffic=traffic)


def _add_request(service: Service, params: Mapping[str, str]) -> AddRequest:
    request = AddRequest(link=_link(params))
    for name in REQUIRED_FIELDS.get(service.type, ()):
        if not _text(params, name):
            raise incorrect(name)
        request.params[name] = _text(params, name)
    if service.type == ServiceType.WEB_TRAFFIC:
        _web_traffic(params, request)
    if service.type == ServiceType.POLL:
        answer = _int(_text(params, "answer_number"))
        if answer is None or answer < 1:
            raise incorrect("answer_number")
        request.params["answer_number"] = answer

    lines_field = LINE_COUNTED.get(service.type)
    if lines_field:
        lines = _lines(params, lines_field)
        if not lines:
            raise incorrect(lines_field)
        request.params[lines_field] = lines
        request.quantity = len(lines)
    else:
        request.quantity = _int(_text(params, "quantity")) or 0
    if service.is_package:
        request.quantity = 1
    else:
        _quantity_check(service, request.quantity)
    if service.type in DRIPFEED_TYPES:
        request.runs, request.interval = _dripfeed(service, params)
    return request


def _subscription_request(service: Service, params: Mapping[str, str]) -> AddRequest:
    username = _text(params, "username")
    if not username:
        raise incorrect("username")
    low, high = _int(_text(params, "min")) or 0, _int(_text(params, "max")) or 0
    _quantity_check(service, low)
    _quantity_check(service, high)
    if low > high:
        raise incorrect("max")
    optional = {}
    for name, default in (("posts", None), ("old_posts", 0), ("delay", 0)):
        raw = _text(params, name)
        value = _int(raw) if raw else default
        if raw and (value is None or value < 0):
            raise incorrect(name)
        optional[name] = value
    if optional["old_posts"] > MAX_OLD_POSTS:
        raise incorrect("old_posts")
    if optional["delay"] not in SUBSCRIPTION_DELAYS:
        raise incorrect("delay")
    expiry = None
    if _text(params, "expiry"):
        try:
            expiry = datetime.strptime(_text(params, "expiry"), "%d/%m/%Y").date()
        except ValueError:
            raise incorrect("expiry") from None
        if expiry < clock.now().date():
            raise incorrect("expiry")
    return AddRequest(
        params={
            "username": username,
            "min": low,
            "max": high,
            **optional,
            "expiry": expiry.isoformat() if expiry else "",
            # Simulated seconds between two new posts of the watched account.
            "post_every": seeded_rng(f"sub:{username}").randint(4 * 3600, 24 * 3600),
        }
    )


def order_add(*, account: Account, params: Mapping[str, str]) -> Order:
    """Validate an `add` request, charge the account and create the order (committed on return)."""
    service_catalog_ensure()
    service = _service_get(_text(params, "service"))
    subscription = service.type == ServiceType.SUBSCRIPTIONS
    request = _subscription_request(service, params) if subscription else _add_request(service, params)
    if request.link:
        # Orders for this link that ended by now must not block the new one.
        orders_advance(
            orders=Order.objects.filter(
                account=account, service=service, link=request.link, parent=None
            ).exclude(status__in=FINAL_ORDER_STATUSES)
        )
    now = clock.now()
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if (
            request.link
            # Like JAP: one active order per link and service.
            and Order.objects.filter(account=locked, service=service, link=request.link, parent=None)
            .exclude(status__in=FINAL_ORDER_STATUSES)
            .exists()
        ):
            raise SandboxError(LINK_DUPLICATE)
        key = f"o{locked.order_seq + 1}"
        if subscription:
            order, children = _subscription_build(locked, service, request, key, now)
            cost = sum((child.charge for child in children), Decimal("0"))
            # The balance must also cover the next new post, unless only old posts are wanted.
            reserve = service_cost(service=service, quantity=request.params["max"])
            required = cost + (reserve if request.params["posts"] != 0 else 0)
        else:
            cost = required = service_cost(service=service, quantity=request.quantity, runs=request.runs or 1)
            children = []
            order = order_build(
                account=locked,
                service=service,
                key=key,
                quantity=request.quantity,
                at=now,
                kind=OrderKind.DRIPFEED if request.runs else OrderKind.ORDER,
                link=request.link,
                runs=request.runs,
                interval=request.interval,
                params=request.params,
                charge=cost,
            )
        if locked.balance < required:
            raise SandboxError(NOT_ENOUGH_FUNDS)
        Account.objects.filter(pk=locked.pk).update(balance=F("balance") - cost, order_seq=F("order_seq") + 1)
        order.save()
        for child in children:
            child.parent = order
            child.save()
    return order


def _subscription_build(
    account: Account, service: Service, request: AddRequest, key: str, now: datetime
) -> tuple[Order, list[Order]]:
    parent = Order(
        account=account,
        service=service,
        kind=OrderKind.SUBSCRIPTION,
        plan_key=key,
        params=request.params,
        status=SandboxOrderStatus.ACTIVE,
        created_at=now,
        starts_at=now,
        finishes_at=now,
    )
    # Posts that existed before the subscription are processed at once.
    old = [
        subscription_child(account, service, request.params, f"{key}.old{number}", now, old_post=True)
        for number in range(1, request.params["old_posts"] + 1)
    ]
    return parent, old


# Reading orders ------------------------------------------------------------------------------


def _order_id(raw: str) -> int | None:
    value = _int(raw)
    return value if value is not None and 0 < value < 2**63 else None


def orders_get(*, account: Account, ids: Iterable[str]) -> dict[str, Order | None]:
    """The account's orders for the raw ids, advanced to now; None for unknown ids."""
    wanted = {raw: _order_id(raw) for raw in ids}
    found = {
        order.pk: order
        for order in Order.objects.filter(account=account, pk__in=[v for v in wanted.values() if v])
        .select_related("account", "service")
        .prefetch_related("children")
    }
    orders_advance(orders=found.values())
    return {raw: found.get(value) for raw, value in wanted.items()}


def order_get(*, account: Account, raw_id: str) -> Order:
    """One of the account's orders, advanced to now."""
    order = orders_get(account=account, ids=[raw_id])[raw_id]
    if order is None:
        raise SandboxError(INCORRECT_ORDER)
    return order


def order_children(*, order: Order) -> list[Order]:
    return sorted(order.children.all(), key=lambda child: child.pk)


# Cancel --------------------------------------------------------------------------------------


def order_cancel(*, order: Order) -> None:
    """Cancel an order: a pending one is refunded in full, one in progress ends Partial."""
    if not order.service.cancel:
        raise SandboxError(CANCEL_DISABLED)
    now = clock.now()
    if order.kind == OrderKind.DRIPFEED:
        # Runs already started go on; the runs not yet started are refunded.
        unstarted = order.charge - service_cost(
            service=order.service, quantity=order.quantity, runs=order.progress
        )
        done = order_finish(
            order=order, status=SandboxOrderStatus.CANCELED, remains=0, at=now, refund=unstarted
        )
    elif order.kind == OrderKind.SUBSCRIPTION:
        done = order_finish(order=order, status=SandboxOrderStatus.CANCELED, remains=0, at=now)
    elif order.status == SandboxOrderStatus.PENDING:
        done = order_finish(order=order, status=SandboxOrderStatus.CANCELED, remains=order.quantity, at=now)
    else:
        done = order_finish(order=order, status=SandboxOrderStatus.PARTIAL, remains=order.remains, at=now)
    if not done:
        raise SandboxError(CANCEL_UNAVAILABLE)


# Refills -------------------------------------------------------------------------------------


def refill_create(*, order: Order) -> Refill:
    """Request a refill of a completed order, within its refill window and cooldown."""
    if not order.service.refill:
        raise SandboxError(REFILL_DISABLED)
    if order.kind != OrderKind.ORDER or order.status not in (
        SandboxOrderStatus.COMPLETED,
        SandboxOrderStatus.PARTIAL,
    ):
        raise SandboxError(REFILL_UNAVAILABLE)
    now = clock.now()
    days = order.service.refill_days
    if days is not None and now - order.finished_at > clock.to_real(timedelta(days=days)):
        raise SandboxError(REFILL_DAYS_OVER)
    with transaction.atomic():
        # Locking the account serialises refill requests, so one order never gets two at once.
        account = Account.objects.select_for_update().get(pk=order.account_id)
        refills = list(Refill.objects.filter(order=order))
        refills_advance(refills=refills)
        if any(not refill.is_final for refill in refills):
            raise SandboxError(REFILL_PENDING)
        last = max([order.finished_at, *(refill.created_at for refill in refills)])
        if now - last < clock.to_real(REFILL_COOLDOWN):
            raise SandboxError(REFILL_TOO_EARLY)
        Account.objects.filter(pk=account.pk).update(refill_seq=F("refill_seq") + 1)
        key = f"r{account.refill_seq + 1}"
        rng = seeded_rng(key)
        starts_at = now + clock.to_real(timedelta(seconds=rng.uniform(60, 2 * 3600)))
        rejected = rng.random() < REFILL_REJECTED_SHARE
        return Refill.objects.create(
            account=account,
            order=order,
            plan_key=key,
            created_at=now,
            starts_at=starts_at,
            finishes_at=starts_at + clock.to_real(timedelta(seconds=rng.uniform(3600, 12 * 3600))),
            planned_status=RefillStatus.REJECTED if rejected else RefillStatus.COMPLETED,
        )


def refills_get(*, account: Account, ids: Iterable[str]) -> dict[str, Refill | None]:
    """The account's refills for the raw ids, advanced to now; None for unknown ids."""
    wanted = {raw: _order_id(raw) for raw in ids}
    found = {
        refill.pk: refill
        for refill in Refill.objects.filter(account=account, pk__in=[v for v in wanted.values() if v])
    }
    refills_advance(refills=found.values())
    return {raw: found.get(value) for raw, value in wanted.items()}
