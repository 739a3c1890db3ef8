"""Who may do what with an order, beyond the role: place it (the shortlist rule), skip the
approver (thresholds, the shortlist's "approval" rule) and decide on it (the four-eyes rule).
Every page, service and queryset asks these; none writes the rule again."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

from django.conf import settings

from catalog.models import ShortlistEntry, ShortlistRule, TeamPolicy
from jappanel.web.access import may
from orders.models import Order
from orders.services.common import ZERO, OrderInvalid, User
from team.models import Campaign, CredentialsSetBy

# Why an order waits for an approver, as its CREATED event says.
ABOVE_THRESHOLD = "above the approval threshold"
TOGETHER_ABOVE_THRESHOLD = "together above the approval threshold"
NOT_SHORTLISTED = "not on the shortlist"


def requesters_barred_for(user: User) -> set[int]:
    """Whose orders `user` may not approve or decline: the four-eyes rule, decided here only.

    Their own (a second pair of eyes is the point; superusers excepted, for a team of one), and
    those of whoever set their password (who may know it and sign in as them) or gave them their
    role (until they set a password of their own): see team.models.CredentialsSetBy.
    """
    barred = set() if user.is_superuser else {user.pk}
    setters = CredentialsSetBy.objects.filter(person_id=user.pk).values_list("password_by", "role_by").first()
    return barred | {pk for pk in setters or () if pk is not None}


def decision_refusal(user: User, order: Order) -> str | None:
    """Why `user` may not approve or decline `order`, in a sentence; None when they may."""
    if not may(user, "approve_order"):
        return "You may not approve or decline orders."
    if order.user_id not in requesters_barred_for(user):
        return None
    if order.user_id == user.pk:
        return "Nobody decides on their own order: ask another approver."
    return (
        f"{order.user.get_username()} set your password or your role, so you cannot decide on their "
        "orders: ask another approver."
    )


def may_decide(user: User, order: Order) -> bool:
    return decision_refusal(user, order) is None


def needs_approval(order: Order, campaign: Campaign | None) -> bool:
    """Whether `order` costs more than the team's approval threshold or its campaign's: the
    stricter decides, so choosing a campaign can add a check, never remove one."""
    threshold = settings.APPROVAL_THRESHOLD
    if threshold is not None and order.estimated_charge > threshold:
        return True
    if campaign is not None and campaign.approval_threshold is not None:
        # A threshold in another currency cannot be compared: the safe side is to wait.
        return order.currency != campaign.currency or order.estimated_charge > campaign.approval_threshold
    return False


def shortlist_rule_for(user: User | None) -> str:
    """The shortlist rule that binds `user`: the team's, or "open" for whoever may approve orders.

    Approvers, managers and superusers order anything; so does the system (a command run
    without `--user`), which only someone with a shell on the server can be.
    """
    if user is None or user.is_superuser or may(user, "approve_order"):
        return ShortlistRule.OPEN
    return TeamPolicy.current().shortlist_rule


def off_shortlist(*, service_ids: set[int], user: User | None) -> tuple[str, set[int]]:
    """The shortlist rule that binds `user`, and which of `service_ids` it holds off the list
    (none under "open": then the shortlist is not read)."""
    rule = shortlist_rule_for(user)
    if rule == ShortlistRule.OPEN or not service_ids:
        return rule, set()
    listed = ShortlistEntry.objects.filter(service_id__in=service_ids).values_list("service_id", flat=True)
    return rule, service_ids - set(listed)


def shortlist_check(*, orders: Sequence[Order], user: User | None) -> set[int]:
    """The services (ids) of `orders` that must wait for an approver as off the shortlist.

    Under the "only" rule such orders are refused instead, with OrderInvalid on the `service`
    field, before anything is saved; under "open", or for someone the rule does not bind,
    nothing is off limits and the shortlist is not read.
    """
    rule, off = off_shortlist(service_ids={order.service_id for order in orders}, user=user)
    if off and rule == ShortlistRule.ONLY:
        numbers = sorted({order.service.service_id for order in orders if order.service_id in off})
        which = (
            f"Service #{numbers[0]} is"
            if len(numbers) == 1
            else f"Services {', '.join(f'#{number}' for number in numbers)} are"
        )
        raise OrderInvalid(
            {
                "service": f"{which} not on the team's shortlist, and the team policy is "
                f"“{ShortlistRule.ONLY.label}”: ask a manager to add it to the shortlist, "
                "or an approver to order it."
            }
        )
    return off


def approval_reasons(order: Order, campaign: Campaign | None, *, shortlisted: bool = True) -> list[str]:
    """Why `order` must wait for an approver: empty when it may be sent at once."""
    reasons = []
    if needs_approval(order, campaign):
        reasons.append(ABOVE_THRESHOLD)
    if not shortlisted:
        reasons.append(NOT_SHORTLISTED)
    return reasons


def approvals_needed(
    orders: Sequence[Order], campaign: Campaign | None, *, off_shortlist: Collection[int] = ()
) -> list[list[str]]:
    """Why each order of one submission must wait for an approver (empty: it is sent at once).

    An order above the threshold waits; so does every order of a submission whose orders are
    above it together (one purchase split into lines is still one purchase); and, under the
    "approval" rule, an order for a service in `off_shortlist`.
    """
    totals: dict[str, Decimal] = {}
    for order in orders:
        totals[order.currency] = totals.get(order.currency, ZERO) + order.estimated_charge
    together = len(orders) > 1 and any(
        needs_approval(Order(currency=currency, estimated_charge=total), campaign)
        for currency, total in totals.items()
    )
    waits = []
    for order in orders:
        reasons = approval_reasons(order, campaign, shortlisted=order.service_id not in off_shortlist)
        if together and ABOVE_THRESHOLD not in reasons:
            reasons.insert(0, TOGETHER_ABOVE_THRESHOLD)
        waits.append(reasons)
    return waits


def order_waits_because(order: Order) -> list[str]:
    """Why a waiting `order` waits, as things stand now (the page of the order says it)."""
    off_shortlist = (
        order.user is not None
        and shortlist_rule_for(order.user) == ShortlistRule.APPROVAL
        and not ShortlistEntry.objects.filter(service_id=order.service_id).exists()
    )
    return approval_reasons(order, order.campaign, shortlisted=not off_shortlist)
