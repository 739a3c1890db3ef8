from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from providers import crypto
from providers.client import JapClient, ProviderUnreachable
from providers.client.urls import address_kind, host_of, literal_address, origin_of, without_credentials

API_URL_SCHEMES = ("https", "http", "sandbox")
# A provider at a sandbox:// URL is the built-in simulator: no real money.
SANDBOX_PREFIX = "sandbox:"


def is_sandbox_url(api_url: str) -> bool:
    """Whether `api_url` is the built-in simulator's (requests, too, matches the scheme in any case)."""
    return api_url.lower().startswith(SANDBOX_PREFIX)


def validate_api_url(value: str) -> None:
    """A panel's URL: http(s) or sandbox, a host, a valid port, and not an address inside the
    network written out (the client checks the address it connects to as well, whatever the name)."""
    try:
        url = urlsplit(value)
        host = url.hostname
    except ValueError:  # "http://[": an unclosed IPv6 bracket
        raise ValidationError("Enter an https://, http:// or sandbox:// URL.") from None
    if url.scheme not in API_URL_SCHEMES or not host:
        raise ValidationError("Enter an https://, http:// or sandbox:// URL.")
    if not origin_of(value):
        raise ValidationError("The port of this URL is not a number between 1 and 65535.")
    address = literal_address(value) if url.scheme != "sandbox" else None
    if address and not settings.ALLOW_PRIVATE_PROVIDER_URLS and (kind := address_kind(address)):
        raise ValidationError(
            f"{host_of(value)} is a {kind} address inside the network; a panel must be on the "
            "internet (ALLOW_PRIVATE_PROVIDER_URLS=1 allows such addresses)."
        )


class ApiKeyNotForThisUrl(ProviderUnreachable):
    """The provider's URL points to another host than the one its key was entered for; nothing was sent."""


class ProviderQuerySet(models.QuerySet["Provider"]):
    def sandbox(self) -> ProviderQuerySet:
        """The built-in simulator's providers."""
        return self.filter(api_url__istartswith=SANDBOX_PREFIX)

    def real(self) -> ProviderQuerySet:
        """Providers where orders cost real money."""
        return self.exclude(api_url__istartswith=SANDBOX_PREFIX)


class Provider(models.Model):
    """A panel account speaking JAP API v2: where orders go and whose balance pays for them.

    The API key is stored only as a Fernet token (`api_key_encrypted`); set it with
    `set_api_key()` and use it only through `client()`.
    """

    name = models.CharField(max_length=100, unique=True)
    api_url = models.CharField("API URL", max_length=500, validators=[validate_api_url])
    api_key_encrypted = models.TextField(editable=False)
    # The origin (scheme://host:port) of the API URL when the key was entered: the key is sent
    # there and nowhere else, whatever later changes the URL (see `client()`).
    api_key_origin = models.CharField(max_length=520, blank=True, editable=False)
    currency = models.CharField(max_length=10, default="USD")
    active = models.BooleanField(default=True)
    balance = models.DecimalField(max_digits=16, decimal_places=5, null=True, blank=True)
    balance_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Provider {self.pk}: {self.name} {self.api_url_shown}>"

    @property
    def api_url_shown(self) -> str:
        """The API URL as pages and logs show it: without any `user:password@`."""
        return without_credentials(self.api_url)

    @property
    def is_sandbox(self) -> bool:
        """Whether this is the built-in simulator, whose orders cost no real money."""
        return is_sandbox_url(self.api_url)

    def set_api_key(self, api_key: str) -> None:
        """Encrypt `api_key` under the current key, for the origin of the current `api_url`
        (set the URL first; the caller saves)."""
        self.api_key_encrypted = crypto.encrypt(api_key)
        self.api_key_origin = origin_of(self.api_url)

    set_api_key.alters_data = True

    def api_key_needed_for(self, api_url: str) -> bool:
        """Whether `api_url` needs the key entered again: it has a key, and the URL's scheme,
        host or port differ from those the key was entered for.

        The one rule of every path that changes a provider (the team page, the admin, the
        environment); `client()` enforces it on every path that uses one.
        """
        origin = origin_of(api_url)
        return bool(self.api_key_encrypted) and (not origin or origin != self.api_key_origin)

    def _api_key(self) -> str:
        # Underscored: templates cannot reach it, so `{{ provider... }}` never renders a key.
        return crypto.decrypt(self.api_key_encrypted)

    @property
    def masked_api_key(self) -> str:
        """`••••` and the last four characters, for recognising a key without revealing it."""
        if not self.api_key_encrypted:
            return "not set"
        return crypto.masked(self.api_key_encrypted)

    def client(self, *, connect_timeout: float | None = None, read_timeout: float | None = None) -> JapClient:
        """A JapClient for this account; ApiKeyDecryptionError (nothing sent) if the key won't open,
        ApiKeyNotForThisUrl (nothing sent) if the URL now points elsewhere than the key was for."""
        if self.api_key_needed_for(self.api_url):
            raise ApiKeyNotForThisUrl(
                f"the API key was entered for {host_of(self.api_key_origin) or 'another URL'} and is not "
                f"sent to {host_of(self.api_url)}: enter the key again with the new API URL"
            )
        from providers.pace import Pace  # it imports the models

        return JapClient(
            self.api_url,
            self._api_key(),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            pace=Pace(self.pk),
        )


class CallSlot(models.Model):
    """One of a provider's PROVIDER_MAX_CONCURRENCY places for a call in flight (providers.pace).

    Taking a slot is one conditional UPDATE, so every worker process and thread shares the bound.
    `held_until` is a lease (a process that dies mid-call frees its slot when it runs out);
    `free_at` is when the slot may be taken again: spacing for PROVIDER_MAX_REQUESTS_PER_MINUTE,
    or a back-off after the panel said we were too fast.
    """

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="call_slots", db_index=False
    )
    number = models.PositiveSmallIntegerField()
    held_until = models.DateTimeField(null=True, blank=True)
    free_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "number"], name="providers_one_slot_number")
        ]

    def __str__(self) -> str:
        return f"slot {self.number} of provider {self.provider_id}"
