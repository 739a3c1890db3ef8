from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from providers import crypto
from providers.client import JapClient

API_URL_SCHEMES = ("https", "http", "sandbox")


def validate_api_url(value: str) -> None:
    try:
        url = urlsplit(value)
    except ValueError:  # "http://[": an unclosed IPv6 bracket
        raise ValidationError("Enter an https://, http:// or sandbox:// URL.") from None
    if url.scheme not in API_URL_SCHEMES or not url.netloc:
        raise ValidationError("Enter an https://, http:// or sandbox:// URL.")


class Provider(models.Model):
    """A panel account speaking JAP API v2: where orders go and whose balance pays for them.

    The API key is stored only as a Fernet token (`api_key_encrypted`); set it with
    `set_api_key()` and use it only through `client()`.
    """

    name = models.CharField(max_length=100, unique=True)
    api_url = models.CharField("API URL", max_length=500, validators=[validate_api_url])
    api_key_encrypted = models.TextField(editable=False)
    currency = models.CharField(max_length=10, default="USD")
    active = models.BooleanField(default=True)
    balance = models.DecimalField(max_digits=16, decimal_places=5, null=True, blank=True)
    balance_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Provider {self.pk}: {self.name} {self.api_url}>"

    def set_api_key(self, api_key: str) -> None:
        """Encrypt `api_key` under the current key (the caller saves)."""
        self.api_key_encrypted = crypto.encrypt(api_key)

    set_api_key.alters_data = True

    def _api_key(self) -> str:
        # Underscored: templates cannot reach it, so `{{ provider... }}` never renders a key.
        return crypto.decrypt(self.api_key_encrypted)

    @property
    def masked_api_key(self) -> str:
        """`••••` and the last four characters, for recognising a key without revealing it."""
        if not self.api_key_encrypted:
            return "not set"
        try:
            api_key = self._api_key()
        except crypto.ApiKeyDecryptionError:
            return "•••• (cannot decrypt)"
        return "••••" + (api_key[-4:] if len(api_key) >= 12 else "")

    def client(self, *, connect_timeout: float | None = None, read_timeout: float | None = None) -> JapClient:
        """A JapClient for this account; ApiKeyDecryptionError (nothing sent) if the key won't open."""
        return JapClient(
            self.api_url, self._api_key(), connect_timeout=connect_timeout, read_timeout=read_timeout
        )
