"""Writing the audit log: one function, called by the services that spend money or change who may."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.http import HttpRequest

from audit.models import AuditEntry

MASK = "••••"
# Keys whose values are secrets: they never reach the log, whatever the caller passes.
SECRET_WORDS = ("key", "password", "secret", "token")


@dataclass(frozen=True)
class Requester:
    actor: AbstractBaseUser | None
    ip: str | None


# Who is making the current request, for changes recorded by signals (admin saves of users and
# groups), where no service stands between the request and the write.
_requester: ContextVar[Requester | None] = ContextVar("audit_requester", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the first X-Forwarded-For hop only behind our own proxy."""
    if settings.BEHIND_HTTPS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR") or None


@contextmanager
def requester_set(request: HttpRequest) -> Iterator[None]:
    user = getattr(request, "user", None)
    token = _requester.set(Requester(user if user and user.is_authenticated else None, client_ip(request)))
    try:
        yield
    finally:
        _requester.reset(token)


def requester() -> Requester:
    return _requester.get() or Requester(None, None)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if any(word in str(key).lower() for word in SECRET_WORDS) else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    ip: str | None = None,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry; `actor` None is the system (the worker), or the operator `actor_name`
    names (a shell user, who is no user of ours). Secret-looking keys are masked."""
    person = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        action=action,
        actor=person,
        actor_name=person.get_username() if person else actor_name[:150],
        ip=ip,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        before=_masked(before) if before is not None else None,
        after=_masked(after) if after is not None else None,
        note=note[:2000],
    )
