"""Saving campaigns, budgets and people, each change written to the audit log with its before and after."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.http import HttpRequest

from audit.models import AuditAction
from audit.services import audit_record, requester_set
from jappanel.web.access import ROLES
from providers.models import Provider
from team.models import Budget, Campaign, CredentialsSetBy, credentials_record

ZERO = Decimal(0)
SUPERUSER = "Superuser (all rights)"


def _values(instance: models.Model) -> dict[str, Any]:
    values = model_to_dict(instance, exclude=["members"])
    audited: dict[str, Any] = {
        name: str(value) if value is not None else None for name, value in values.items()
    }
    if isinstance(instance, Campaign) and instance.pk is not None:
        audited["members"] = sorted(instance.members.values_list("username", flat=True))
    return audited


def _save(
    instance: Campaign | Budget,
    *,
    action: str,
    user: AbstractBaseUser | None,
    ip: str | None,
    also: Callable[[], None] = lambda: None,
) -> None:
    """Save `instance` (and what `also` writes beside it) with one audit entry of before and after."""
    before = None
    if instance.pk is not None:
        before = _values(type(instance).objects.get(pk=instance.pk))
    with transaction.atomic():
        instance.save()
        also()
        audit_record(
            action=action, actor=user, ip=ip, target=instance, before=before, after=_values(instance)
        )


def campaign_save(
    *,
    campaign: Campaign,
    members: Iterable[AbstractBaseUser] | None = None,
    user: AbstractBaseUser | None,
    ip: str | None,
) -> Campaign:
    """Create or change a campaign, and who may order for it (`members`: None leaves them).

    Its budget, approval threshold and members decide who spends what: audited.
    """

    def set_members() -> None:
        if members is not None:
            campaign.members.set(members)

    _save(campaign, action=AuditAction.CAMPAIGN_CHANGED, user=user, ip=ip, also=set_members)
    return campaign


def budget_save(*, budget: Budget, user: AbstractBaseUser | None, ip: str | None) -> Budget:
    """Create or change a person's budget or a provider's team cap, audited."""
    _save(budget, action=AuditAction.BUDGET_CHANGED, user=user, ip=ip)
    return budget


@dataclass(frozen=True)
class BudgetUse:
    """A monthly budget beside what its scope spent this month (`amount` None: no limit)."""

    amount: Decimal | None
    currency: str
    spent: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.amount is None else max(self.amount - self.spent, ZERO)

    @property
    def over(self) -> bool:
        return self.amount is not None and self.spent > self.amount

    @property
    def percent(self) -> int:
        """How much of the budget is used, 0–100, for the width of a bar (a zero budget is used up)."""
        if self.amount is None:
            return 0
        if self.amount <= ZERO:
            return 100
        share = (self.spent * 100 / self.amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(min(max(share, ZERO), Decimal(100)))


def team_currency() -> str:
    """The currency spend is shown in where no budget names one: the first active provider's."""
    provider = Provider.objects.filter(active=True).order_by("name").first()
    return provider.currency if provider else "USD"


# People -----------------------------------------------------------------------------------------


class PersonInvalid(Exception):
    """The change is refused; `errors` maps a field name (or `__all__`) to a sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


def person_role(person: Any) -> str | None:
    """The person's role: the highest role group they are in (uses a prefetched `groups`)."""
    held = {group.name for group in person.groups.all()}
    return next((name for name in reversed(ROLES) if name in held), None)


@contextmanager
def _acting_as(user: AbstractBaseUser | None, ip: str | None) -> Iterator[None]:
    # audit.signals records user saves (and, for the admin, role changes) as the requester of the
    # request in progress; make that `user` from `ip`, also when no request is (a shell, a test).
    request = HttpRequest()
    request.user = user
    request.META["REMOTE_ADDR"] = ip or ""
    with requester_set(request):
        yield


def credentials_set(
    *,
    person: Any,
    by: AbstractBaseUser | None,
    password: bool = False,
    role: bool = False,
    email: bool = False,
) -> None:
    """Record that `by` (None: nobody signed in) set `person`'s password, role or email address
    (see CredentialsSetBy)."""
    row, _ = CredentialsSetBy.objects.get_or_create(person_id=person.pk)
    by_id = by.pk if by is not None else None
    credentials_record(row, person_id=person.pk, by_id=by_id, password=password, role=role, email=email)
    row.save()


def _role_set(*, person: Any, role: str, user: AbstractBaseUser | None, ip: str | None) -> None:
    """Make `role` the person's only role group (other groups stay), recorded once.

    `groups.set()` would remove, then add: two USER_ROLES entries by the signals for one change.
    The rows are written directly instead (no signal) and the change recorded here, once.
    """
    through = get_user_model().groups.through
    before = sorted(person.groups.values_list("name", flat=True))
    group = Group.objects.get(name=role)
    through.objects.filter(user_id=person.pk, group__name__in=ROLES).exclude(group=group).delete()
    through.objects.get_or_create(user_id=person.pk, group=group)
    after = sorted(person.groups.values_list("name", flat=True))
    if before != after:
        credentials_set(person=person, by=user, role=True)
        audit_record(
            action=AuditAction.USER_ROLES,
            actor=user,
            ip=ip,
            target=person,
            before={"groups": before},
            after={"groups": after},
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise PersonInvalid({"role": f"Choose one of the roles: {', '.join(ROLES)}."})


def person_create(
    *,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    password: str,
    budget: Decimal | None,
    currency: str,
    user: AbstractBaseUser | None,
    ip: str | None,
) -> Any:
    """Add a person with one role, a password (validated by the caller's form) and an optional
    monthly budget. Audited: the user (signal), the role and the budget, each once."""
    _check_role(role)
    with transaction.atomic(), _acting_as(user, ip):
        person = get_user_model().objects.create_user(
            username, email, password, first_name=first_name, last_name=last_name
        )
        _role_set(person=person, role=role, user=user, ip=ip)
        if budget is not None:
            budget_save(budget=Budget(user=person, amount=budget, currency=currency), user=user, ip=ip)
    return person


def person_update(
    *,
    person: Any,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    active: bool,
    password: str = "",
    user: AbstractBaseUser | None,
    ip: str | None,
) -> Any:
    """Change a person's name, email, role or active state, and their password if one is given.

    Nobody is deleted here (deactivate instead: their orders and audit entries keep the name).
    A manager cannot deactivate themselves or change their own role, so the team never locks out
    the person doing it; superusers are changed in the Django admin only. Audited: the user's
    fields (signal, "Password changed." without the password) and the role, each once.
    """
    if person.is_superuser:
        raise PersonInvalid({"__all__": "A superuser has all rights; change them in the Django admin."})
    _check_role(role)
    errors = {}
    if user is not None and person.pk == user.pk:
        if not active:
            errors["active"] = "You cannot deactivate yourself: ask another manager."
        if role != person_role(person):
            errors["role"] = "You cannot change your own role: ask another manager."
    if errors:
        raise PersonInvalid(errors)
    person.email, person.first_name, person.last_name, person.is_active = email, first_name, last_name, active
    if password:
        person.set_password(password)
    with transaction.atomic(), _acting_as(user, ip):
        person.save()
        _role_set(person=person, role=role, user=user, ip=ip)
    return person
