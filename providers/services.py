from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from jappanel.db import column_misfit
from jappanel.events import Occurrence, announce
from providers import crypto
from providers.client import Balance, ProviderError, ProviderOutcomeUnknown
from providers.client.urls import host_of
from providers.models import Provider
from providers.sandbox.services import sandbox_account_get
from providers.signals import provider_configured

logger = logging.getLogger(__name__)

# After orders were sent, the balance is read at most this often per provider (and after the
# last order of each batch): a 2,000-line mass order makes 2,000 calls, not 4,000.
BALANCE_EVERY = timedelta(seconds=5)

# Said wherever a URL on another host is saved without the key.
API_KEY_AGAIN = (
    "The API URL now points to another host: enter the API key again. A stored key is only ever "
    "sent to the host it was entered for."
)
JAP_PROVIDER_NAME = "JAP"
SANDBOX_PROVIDER_NAME = "Sandbox"
SANDBOX_API_URL = "sandbox://local/api/v2"


def _provider_upsert(*, name: str, api_url: str, api_key: str, using: str) -> Provider:
    provider = Provider.objects.using(using).filter(name=name).first() or Provider(name=name)
    # The environment holds the key beside the URL: a new host is a key entered again for it.
    key_changed = (
        not provider.api_key_encrypted
        or provider.api_key_needed_for(api_url)
        or _stored_key(provider) != api_key
    )
    if provider.pk and provider.api_url == api_url and provider.active and not key_changed:
        return provider
    provider.api_url = api_url
    provider.active = True
    if key_changed:
        provider.set_api_key(api_key)
    provider.save(using=using)
    # Not announced: the worker catches up with it when it starts (updated_at is newer than
    # its last sync), and announcing during `migrate` would queue work for a worker not yet there.
    logger.info("provider %s: configured from the environment (%s)", name, provider.api_url_shown)
    return provider


def _announce_configured(provider: Provider) -> None:
    transaction.on_commit(lambda: provider_configured.send(sender=Provider, provider_id=provider.pk))


def _stored_key(provider: Provider) -> str | None:
    try:
        return provider._api_key()
    except crypto.ApiKeyDecryptionError:
        return None


def provider_bootstrap(*, using: str = DEFAULT_DB_ALIAS) -> Provider | None:
    """Create or update the providers the environment describes; return the one to use.

    With JAP_API_KEY set: a provider "JAP" at JAP_API_URL. With the sandbox on and no real
    provider active: a provider "Sandbox" served in-process (`sandbox://`) with the sandbox
    account's key, so a fresh install works at once. While a real provider is active (from the
    environment or added by a person), or when the sandbox is off, the Sandbox provider is
    switched off: its look-alike services must not stand beside real ones.
    """
    jap = None
    if settings.JAP_API_KEY:
        jap = _provider_upsert(
            name=JAP_PROVIDER_NAME, api_url=settings.JAP_API_URL, api_key=settings.JAP_API_KEY, using=using
        )
    real = Provider.objects.using(using).real().filter(active=True)
    if settings.SANDBOX_ENABLED and not real.exists():
        key = sandbox_account_get(using=using).api_key
        return _provider_upsert(name=SANDBOX_PROVIDER_NAME, api_url=SANDBOX_API_URL, api_key=key, using=using)
    reason = (
        "a real provider is active" if settings.SANDBOX_ENABLED else "the sandbox is off (SANDBOX_ENABLED)"
    )
    provider_sandbox_retire(because=reason, using=using)
    return jap


def provider_sandbox_retire(
    *,
    because: str,
    user: AbstractBaseUser | None = None,
    ip: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[Provider]:
    """Switch off every active sandbox provider, audited with `because`; return them.

    Called when a real provider is configured: a buyer must not pick one of the simulator's
    look-alike services by mistake and mix fake orders into real budgets and reports.
    """
    retired = list(Provider.objects.using(using).sandbox().filter(active=True))
    for provider in retired:
        Provider.objects.using(using).filter(pk=provider.pk).update(active=False)
        provider.active = False
        audit_record(
            action=AuditAction.PROVIDER_CHANGED,
            actor=user,
            ip=ip,
            target=provider,
            before={"active": True},
            after={"active": False},
            note=f"Switched off: {because}.",
        )
        logger.info("provider %s: switched off (%s)", provider.name, because)
    return retired


def bootstrap_after_migrate(*, using: str = DEFAULT_DB_ALIAS, apps: Any = None, **kwargs: Any) -> None:
    """post_migrate receiver: bootstrap once the providers and sandbox tables exist."""
    if apps is not None:
        try:
            apps.get_model("providers", "Provider")
            apps.get_model("sandbox", "Account")
        except LookupError:
            return
    provider_bootstrap(using=using)


def provider_state(provider: Provider) -> dict[str, object]:
    """What the audit log keeps of a provider: everything but the key, the balance and any
    credentials in the URL."""
    return {
        "name": provider.name,
        "api_url": provider.api_url_shown,
        "currency": provider.currency,
        "active": provider.active,
    }


class ApiKeyRequired(ValueError):
    """The change needs the API key entered with it (a new provider, or a URL on another host)."""


def provider_save(
    *, provider: Provider, api_key: str = "", user: AbstractBaseUser | None, ip: str | None
) -> Provider:
    """Create or change a provider; a non-empty `api_key` replaces the stored one.

    A URL whose scheme, host or port changed needs the key again (ApiKeyRequired otherwise): the
    stored key was entered for the old host and is never sent to another.

    Audited: the changed fields (PROVIDER_CREATED / PROVIDER_CHANGED) and, apart, that the key was
    replaced (PROVIDER_KEY_CHANGED) — never the key, nor any part of one, nor URL credentials.
    """
    old = Provider.objects.filter(pk=provider.pk).first() if provider.pk else None
    new_host = old is not None and old.api_key_needed_for(provider.api_url)
    if api_key:
        provider.set_api_key(api_key)
    if not provider.api_key_encrypted:
        raise ApiKeyRequired("a provider needs an API key")
    if provider.api_key_needed_for(provider.api_url):
        raise ApiKeyRequired(API_KEY_AGAIN)
    before, after = (provider_state(old) if old else None), provider_state(provider)
    changed = sorted(name for name in after if before is None or before[name] != after[name])
    who = {"actor": user, "ip": ip}
    with transaction.atomic():
        if old is None:
            provider.save()
        else:
            # Only what a person edits: a balance refresh running meanwhile keeps what it wrote.
            provider.save(update_fields=[*after, "api_key_encrypted", "api_key_origin", "updated_at"])
        if old is None or changed:
            audit_record(
                action=AuditAction.PROVIDER_CHANGED if old else AuditAction.PROVIDER_CREATED,
                target=provider,
                before={name: before[name] for name in changed} if before else None,
                after={name: after[name] for name in changed},
                **who,
            )
        key_changed = old is not None and old.api_key_encrypted != provider.api_key_encrypted
        if key_changed:
            audit_record(
                action=AuditAction.PROVIDER_KEY_CHANGED,
                target=provider,
                note=(
                    f"The API key was entered again for the new host {host_of(provider.api_url)}."
                    if new_host
                    else "The API key was replaced."
                ),
                **who,
            )
        if provider.active and (
            old is None or not old.active or key_changed or old.api_url != provider.api_url
        ):
            _announce_configured(provider)
        # A real provider coming into use (created or switched on) takes the sandbox's place.
        if provider.active and not provider.is_sandbox and not (old and old.active):
            provider_sandbox_retire(
                because=f"the real provider {provider.name} is configured", user=user, ip=ip
            )
    return provider


def provider_record_error(*, provider: Provider, error: ProviderError) -> None:
    """Keep the last provider failure on the provider, for the UI."""
    provider.last_error = str(error)
    provider.last_error_at = timezone.now()
    Provider.objects.filter(pk=provider.pk).update(
        last_error=provider.last_error, last_error_at=provider.last_error_at
    )


def provider_refresh_balance(*, provider: Provider) -> Balance:
    """Read the balance from the panel and store it; a failure is recorded and re-raised.

    Never call this inside a transaction: it waits on the network.
    """
    try:
        with provider.client() as client:
            balance = client.balance()
        misfit = column_misfit(Provider, "balance", balance.amount) or column_misfit(
            Provider, "currency", balance.currency
        )
        if misfit:
            raise ProviderOutcomeUnknown(
                f"balance: the answer cannot be right ({balance.amount} {balance.currency}: {misfit})",
                action="balance",
            )
    except ProviderError as exc:
        provider_record_error(provider=provider, error=exc)
        raise
    provider.balance = balance.amount
    provider.currency = balance.currency
    provider.balance_checked_at = timezone.now()
    provider.last_error = ""
    provider.last_error_at = None
    Provider.objects.filter(pk=provider.pk).update(
        balance=provider.balance,
        currency=provider.currency,
        balance_checked_at=provider.balance_checked_at,
        last_error="",
        last_error_at=None,
    )
    announce([Occurrence("provider.balance", f"balance:{provider.pk}", {"provider_id": provider.pk})])
    return balance


def provider_balance_read_soon(*, provider: Provider) -> bool:
    """Read the balance after orders were sent, at most once per BALANCE_EVERY per provider;
    True if it was read now (or tried).

    Taking the read is a conditional UPDATE of `balance_checked_at`, so that of several batches
    sending to one panel (threads, processes) only one reads it; a failed read puts the time back.
    """
    now = timezone.now()
    stale = Q(balance_checked_at__isnull=True) | Q(balance_checked_at__lt=now - BALANCE_EVERY)
    previous = Provider.objects.filter(pk=provider.pk).values_list("balance_checked_at", flat=True).first()
    if not Provider.objects.filter(stale, pk=provider.pk).update(balance_checked_at=now):
        return False
    try:
        provider_refresh_balance(provider=provider)
    except ProviderError as exc:
        Provider.objects.filter(pk=provider.pk, balance_checked_at=now).update(balance_checked_at=previous)
        logger.warning("provider %s: balance not refreshed after orders: %s", provider.name, exc)
    return True


def provider_rotate_api_keys() -> int:
    """Re-encrypt every stored API key under the current (first) FIELD_ENCRYPTION_KEYS key."""
    rotated = 0
    for provider in Provider.objects.exclude(api_key_encrypted=""):
        Provider.objects.filter(pk=provider.pk).update(
            api_key_encrypted=crypto.rotate(provider.api_key_encrypted)
        )
        rotated += 1
    return rotated


# API actions that spend money (or ask for it back), as the audit log names them.
MONEY_ACTIONS = {
    "add": AuditAction.ORDER_PLACED,
    "refill": AuditAction.ORDER_REFILL,
    "cancel": AuditAction.ORDER_CANCEL,
}


def provider_money_call_record(
    *,
    provider: Provider,
    action: str,
    params: dict[str, str],
    outcome: dict[str, Any],
    user: AbstractBaseUser | None,
    operator: str,
) -> None:
    """Audit a money action sent to the panel directly (`manage.py jap`), with no order of ours:
    who (`user`, or the `operator` at the shell), what was sent, and the answer or the error."""
    audit_record(
        action=MONEY_ACTIONS[action],
        actor=user,
        actor_name=operator,
        target=provider,
        after={"action": action, **params, **outcome},
        note=(
            f"Sent with `manage.py jap {action}` by the {'user' if user else 'operating-system user'} "
            f"{operator}; no order of ours records it."
        ),
    )


class ProviderNotFound(LookupError):
    """No provider matches what the operator asked for; the message says what exists."""


def provider_choose(*, name: str | None = None) -> Provider:
    """The provider called `name`, or by default the only active one (else JAP, else Sandbox)."""
    if name is not None:
        provider = Provider.objects.filter(name=name).first()
        if provider is None:
            known = ", ".join(Provider.objects.values_list("name", flat=True)) or "none"
            raise ProviderNotFound(f"unknown provider {name!r} (known: {known})")
        return provider
    active = list(Provider.objects.filter(active=True))
    if len(active) == 1:
        return active[0]
    for preferred in (JAP_PROVIDER_NAME, SANDBOX_PROVIDER_NAME):
        for provider in active:
            if provider.name == preferred:
                return provider
    if not active:
        raise ProviderNotFound("no active provider: set JAP_API_KEY, or add one in the admin")
    names = ", ".join(provider.name for provider in active)
    raise ProviderNotFound(f"several active providers ({names}): choose one with --provider NAME")
