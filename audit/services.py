"""Writing the audit log: one function, called by the services that spend money or change who may."""

from __future__ import annotations

import ipaddress
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
    """The client's address, for the audit log and the login lockout.

    Each of our TRUSTED_PROXY_COUNT proxies appends the address it was reached from to
    X-Forwarded-For, so the client's is the hop the outermost one added, counted from the right;
    hops to its left were written by the client and are never believed. With no proxy, or a
    request that came straight in (a probe inside the network), it is the connection's address.
    Anything that is not an IP address is no address (None), never stored as one.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if hops:
            # Fewer hops than proxies: the outer ones were skipped, and the leftmost hop is
            # still one an inner proxy of ours wrote.
            address = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


@contextmanager
def requester_set(request: HttpRequest) -> Iterator[None]:
    user = getattr(request, "user", None)
    token = _requester.set(Requester(user if user and user.is_authenticated else None, client_ip(request)))
    try:
        yield
    finally:
        _requester.reset(token)


# What a person acted through when it was not our pages (an API key), said in each entry's note.
_through: ContextVar[str] = ContextVar("audit_through", default="")


@contextmanager
def audit_through(label: str) -> Iterator[None]:
    """Entries recorded inside say `label` (e.g. `API key “Sheets” (jpk_AbCd1234…)`) in their note."""
    token = _through.set(label)
    try:
        yield
    finally:
        _through.reset(token)


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
    through = _through.get()
    if through:
        note = f"Through {through}" + (f": {note}" if note else "")
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
