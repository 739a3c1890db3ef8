"""The three ways a call to a panel can fail, named by what is safe to do next."""

from __future__ import annotations


class ProviderError(Exception):
    """A call to the panel did not produce a usable answer.

    `message` is readable and never contains the API key; `action` is the API action
    (`add`, `status`, ...) that failed. A multi call sent in chunks of 100 ids keeps the
    results of the chunks answered before the failure in `partial_results`.
    """

    def __init__(self, message: str, *, action: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.partial_results: dict[int, object] = {}

    def __str__(self) -> str:
        return self.message


class ProviderRejected(ProviderError):
    """The panel answered `{"error": ...}`: definite, nothing was charged.

    `message` is the panel's own sentence (for example `Not enough funds on balance`).
    """


class ProviderUnreachable(ProviderError):
    """The request provably never reached the panel: safe to send again."""


class ProviderRateLimited(ProviderUnreachable):
    """The panel refused the call for its rate limit (HTTP 429, or a sentence saying so): it did
    nothing, so the call may be sent again, later and slower. `retry_after` is the panel's
    Retry-After in seconds, if it said.
    """

    def __init__(self, message: str, *, action: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, action=action)
        self.retry_after = retry_after


class ProviderOutcomeUnknown(ProviderError):
    """The panel may have processed the request; for `add`, money may have been spent.

    Never resend an `add` after this: check the order list on the panel (or wait for the
    next status sweep) instead.
    """
