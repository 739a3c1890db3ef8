"""Monthly budgets: what a person, a campaign or the team with one provider has spent (what
counts, how much is left), and the check that refuses an order which would go over, race-free."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, DecimalField, F, Func, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Round
from django.utils import timezone
from django.utils.formats import date_format

from orders.models import SPENDING_STATUSES, Order, OrderStatus
from orders.services.common import ACCURACY, ZERO, OrderInvalid, User, money
from providers.models import Provider
from team.models import Budget, Campaign

# Sums of money in SQL: wide enough for any total of 5-decimal amounts.
AMOUNT = DecimalField(max_digits=20, decimal_places=5)


def real_money(orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders` less those placed with the sandbox, which spend no real money.

    Budgets of people and campaigns, reports and the dashboard count real money only, so that
    trying something on the sandbox never eats a budget or shows in a report; the Sandbox
    provider's own team cap still counts its orders.
    """
    return orders.exclude(provider__in=Provider.objects.sandbox())


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    following = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )
    return (
        timezone.make_aware(datetime.combine(first, time.min)),
        timezone.make_aware(datetime.combine(following, time.min)),
    )


def budget_spent(
    *,
    month: date,
    currency: str,
    user: User | None = None,
    campaign: Campaign | None = None,
    provider: Provider | None = None,
) -> Decimal:
    """What one scope (a person, a campaign or a provider) spent in `currency` in `month`.

    Queued, waiting and unsent orders count their estimate; accepted ones the provider's charge,
    or the estimate until it is reported. Refunds come off: a canceled (or rejected, or declined)
    order costs nothing, a partial one its charge (the panel lowers it by the undelivered part)
    or, before the charge is reported, the delivered share of the estimate. A person's or a
    campaign's spend is real money only (`real_money`).
    """
    scopes = {"user": user, "campaign": campaign, "provider": provider}
    given = {name: value for name, value in scopes.items() if value is not None}
    if len(given) != 1:
        raise ValueError("budget_spent takes exactly one of user, campaign and provider")
    start, end = _month_bounds(month)
    orders = Order.objects.filter(**given, currency=currency, created_at__gte=start, created_at__lt=end)
    if provider is None:
        orders = real_money(orders)
    charged = (
        orders.filter(
            Q(status__in=SPENDING_STATUSES) | Q(status=OrderStatus.PARTIAL, charge__isnull=False)
        ).aggregate(total=Sum(Coalesce("charge", "estimated_charge")))["total"]
        or ZERO
    )
    unreported = orders.filter(status=OrderStatus.PARTIAL, charge__isnull=True).values_list(
        "estimated_charge", "quantity", "remains"
    )
    for estimate, quantity, remains in unreported:
        if quantity and remains is not None:
            delivered = Decimal(max(quantity - remains, 0)) / Decimal(quantity)
            charged += (estimate * delivered).quantize(ACCURACY, rounding=ROUND_HALF_UP)
        else:
            charged += estimate
    return charged


class _Fractional(Func):
    """An integer expression as a number that divides with a fraction on every database.

    `* 1.0` is numeric on PostgreSQL and REAL on SQLite, whose NUMERIC cast of a whole number
    gives an integer back, and integer division would truncate the delivered share.
    """

    template = "(%(expressions)s * 1.0)"
    output_field = AMOUNT


def order_spend() -> Case:
    """What one order costs its scope, as `budget_spent` counts it, for Sum() in SQL.

    Spending statuses: the charge, or the estimate until it is reported. Partial: the charge
    (the panel lowers it by the undelivered part) or, before it is reported, the delivered share
    of the estimate rounded like `budget_spent` rounds it. Anything else: nothing (NULL).
    """
    delivered = Greatest(F("quantity") - F("remains"), Value(0))
    share = Round(F("estimated_charge") * _Fractional(delivered) / F("quantity"), 5, output_field=AMOUNT)
    partial = Case(
        When(charge__isnull=False, then=F("charge")),
        When(Q(quantity__isnull=False, remains__isnull=False) & ~Q(quantity=0), then=share),
        default=F("estimated_charge"),
        output_field=AMOUNT,
    )
    return Case(
        When(status__in=SPENDING_STATUSES, then=Coalesce("charge", "estimated_charge")),
        When(status=OrderStatus.PARTIAL, then=partial),
        output_field=AMOUNT,
    )


def spent_by(*, scope: str, month: date, keys: Iterable[int]) -> dict[tuple[int, str], Decimal]:
    """What each of `keys` spent in `month`, by (key, currency), in one query for a whole list.

    `scope` is "user", "campaign" or "provider"; the arithmetic is `budget_spent`'s, as
    `order_spend()`.
    """
    if scope not in ("user", "campaign", "provider"):
        raise ValueError(f"spent_by: no scope {scope!r}")
    start, end = _month_bounds(month)
    column = f"{scope}_id"
    orders = Order.objects.filter(**{f"{column}__in": list(keys)}, created_at__gte=start, created_at__lt=end)
    rows = (
        (orders if scope == "provider" else real_money(orders))
        .order_by()
        .values(column, "currency")
        .annotate(spent=Sum(order_spend()))
    )
    return {(row[column], row["currency"]): _exact(row["spent"]) for row in rows}


def _exact(value: Decimal | None) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(ACCURACY, rounding=ROUND_HALF_UP)


def _costs(orders: Sequence[Order], **scope: object) -> dict[str, Decimal]:
    """The orders' estimates by currency, of the orders matching `scope` (attribute → value)."""
    totals: dict[str, Decimal] = {}
    for order in orders:
        if all(getattr(order, name) == value for name, value in scope.items()):
            totals[order.currency] = totals.get(order.currency, ZERO) + order.estimated_charge
    return totals


def _refuse_if_over(
    *,
    what: str,
    costs: dict[str, Decimal],
    label: str,
    amount: Decimal,
    currency: str,
    spent: Decimal,
    month: str,
) -> None:
    if not costs:
        return
    verbs = ("is", "costs") if what.startswith("This ") else ("are", "cost")
    other = sorted(set(costs) - {currency})
    if other:
        raise OrderInvalid({"__all__": f"{what} {verbs[0]} in {', '.join(other)}; {label} is in {currency}."})
    cost = costs[currency]
    left = max(amount - spent, ZERO)
    if cost > left:
        price, rest = money(cost, currency), money(left, currency)
        raise OrderInvalid({"__all__": f"{what} {verbs[1]} {price}; {label} for {month} has {rest} left."})


def budgets_check(*, orders: Sequence[Order], user: User | None, campaign: Campaign | None) -> None:
    """Refuse `orders` (not saved yet) with OrderInvalid if they would exceed a monthly budget:
    the person's, the campaign's, or the team cap of a provider.

    Call inside the transaction that saves them: the budget rows are locked (`select_for_update`,
    in id order so two checks never deadlock) until it commits, so two people ordering at the
    same instant are counted one after the other. SQLite has no row locks, but its IMMEDIATE
    transactions serialise writers the same way.
    """
    if not orders:
        return
    now = timezone.now()
    month_name = date_format(timezone.localtime(now), "F")
    what = "This order" if len(orders) == 1 else f"These {len(orders)} orders"
    providers = {order.provider_id: order.provider for order in orders}
    scope = Q(provider_id__in=providers)
    if user is not None:
        scope |= Q(user_id=user.pk)
    budgets = list(Budget.objects.select_for_update().filter(scope).order_by("pk"))
    if campaign is not None and campaign.monthly_budget is not None:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    month = timezone.localdate(now)
    real = [order for order in orders if not order.provider.is_sandbox]
    for budget in budgets:
        if budget.user_id is not None:
            costs, label = _costs(real), "your budget"
            spent = budget_spent(user=user, month=month, currency=budget.currency)
        else:
            provider = providers[budget.provider_id]
            costs, label = _costs(orders, provider_id=provider.pk), f"the team's {provider.name} budget"
            spent = budget_spent(provider=provider, month=month, currency=budget.currency)
        _refuse_if_over(
            what=what,
            costs=costs,
            label=label,
            amount=budget.amount,
            currency=budget.currency,
            spent=spent,
            month=month_name,
        )
    if campaign is not None and campaign.monthly_budget is not None:
        spent = budget_spent(campaign=campaign, month=month, currency=campaign.currency)
        _refuse_if_over(
            what=what,
            costs=_costs(real),
            label=f"the budget of campaign “{campaign.name}”",
            amount=campaign.monthly_budget,
            currency=campaign.currency,
            spent=spent,
            month=month_name,
        )
