"""Encryption at rest for secrets (Fernet, keys from FIELD_ENCRYPTION_KEYS): provider API keys,
and the notification endpoints' signing secrets and URLs."""

from __future__ import annotations

import base64
import functools
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from providers.client import ProviderUnreachable

logger = logging.getLogger(__name__)

DECRYPT_ERROR = "cannot decrypt the API key: check FIELD_ENCRYPTION_KEYS"


class ApiKeyDecryptionError(ProviderUnreachable):
    """The stored key cannot be decrypted with the configured keys; nothing was sent."""


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...], secret_key: str, debug: bool) -> MultiFernet:
    if not keys:
        if not debug:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is empty: provider API keys cannot be encrypted or decrypted "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
        logger.warning(
            "FIELD_ENCRYPTION_KEYS is empty: provider API keys are encrypted with a key derived from "
            "SECRET_KEY (development only; set FIELD_ENCRYPTION_KEYS before storing a real key)"
        )
        keys = (
            base64.urlsafe_b64encode(
                hashlib.sha256(f"jappanel-fernet:{secret_key}".encode()).digest()
            ).decode(),
        )
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)"
        ) from None


def _fernet() -> MultiFernet:
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY, settings.DEBUG)


def encrypt(plaintext: str) -> str:
    """A token for `plaintext` under the current (first) key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of `token`; ApiKeyDecryptionError if no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ImproperlyConfigured):
        raise ApiKeyDecryptionError(DECRYPT_ERROR) from None


def rotate(token: str) -> str:
    """`token` re-encrypted under the current key (after a new key was put first)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise ApiKeyDecryptionError(DECRYPT_ERROR) from None


def masked(token: str) -> str:
    """`••••` and the last four characters of the secret in `token` (none of a short one), for
    recognising it without revealing it."""
    try:
        plaintext = decrypt(token)
    except ApiKeyDecryptionError:
        return "•••• (cannot decrypt)"
    return "••••" + (plaintext[-4:] if len(plaintext) >= 12 else "")
