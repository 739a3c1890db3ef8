"""Optional error tracking (SENTRY_DSN), with nothing secret in the events it sends.

The panel API key travels as the form field `key`; Sentry's default scrubber does not know that
name. Events carry no local variables (a frame in requests holds the whole form) and no personal
data, and `scrub_event` replaces the value of every key-like field anywhere in the event.
"""

from __future__ import annotations

from typing import Any

SCRUBBED = "[Filtered]"
SECRET_FIELDS = frozenset(
    {
        "key",
        "api_key",
        "api_key_encrypted",
        "apikey",
        "password",
        "secret",
        "secret_key",
        "token",
        "authorization",
        "cookie",
        "csrfmiddlewaretoken",
        "sessionid",
        "csrftoken",
        "field_encryption_keys",
    }
)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: SCRUBBED if str(k).lower() in SECRET_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Headers and query strings arrive as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and value[0].lower() in SECRET_FIELDS:
            return [value[0], SCRUBBED]
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: the event with every secret-named field's value replaced."""
    return _scrub(event)


def sentry_init(*, dsn: str, environment: str, **options: Any) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        **options,
    )
