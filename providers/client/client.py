"""JapClient: the only code that speaks HTTP to a JAP API v2 panel."""

from __future__ import annotations

import html
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from providers.client.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnreachable,
)
from providers.client.orders import OrderValue, encode_order_fields
from providers.client.results import (
    STATUS_LENGTH,
    Balance,
    ItemError,
    ProviderOrderStatus,
    ServiceInfo,
    ServicesResult,
    error_of,
    one_line,
    to_id,
    to_int,
)
from providers.client.sandbox import SandboxAdapter, SandboxUnavailable
from providers.client.signals import call_finished
from providers.client.transport import CallDeadline, NotConnected, PanelAdapter, call_deadline
from providers.client.urls import host_of, without_credentials

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_IDS_PER_CALL = 100
SNIPPET_LENGTH = 200
# The panel's own sentence in `{"error": ...}` is shown as it is, but never a page of it.
MESSAGE_LENGTH = 300
TITLE_LENGTH = 80
MEGABYTE = 1024 * 1024
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
# Cloudflare answers these itself when it cannot open a connection to the origin.
CLOUDFLARE_ORIGIN_UNREACHABLE = frozenset({521, 522, 523, 525, 526})
# How panels word "too fast" in `{"error": ...}` when they do not answer HTTP 429.
_RATE_LIMIT_SENTENCE = re.compile(r"too many (requests|attempts|calls)|rate.?limit|slow down", re.IGNORECASE)


class Ticket(Protocol):
    def slow_down(self, seconds: float | None = None) -> None: ...


class Pacer(Protocol):
    """Bounds the calls in flight to one panel (providers.pace): `slot()` is held for each call."""

    def slot(self) -> AbstractContextManager[Ticket]: ...


class _NoTicket:
    def slow_down(self, seconds: float | None = None) -> None:
        """Nobody to tell: an unpaced client (tests, the `jap` command without a provider)."""


class _Unpaced:
    def slot(self) -> AbstractContextManager[Ticket]:
        return nullcontext(_NoTicket())


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: __cause__, __context__, args, urllib3 `reason`."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))


def _never_sent_reason(exc: requests.RequestException) -> str | None:
    """Why the request provably never reached the panel, or None if it may have."""
    for cause in _causes(exc):
        if isinstance(cause, NotConnected):
            return cause.sentence
        if isinstance(cause, NameResolutionError):
            return "the host name could not be resolved"
        if isinstance(cause, NewConnectionError):
            return "the connection was refused or could not be opened"
        if isinstance(cause, ConnectTimeoutError):
            return "no connection within the connect timeout"
        if isinstance(cause, ssl.SSLCertVerificationError):
            # Certificate checks happen in the TLS handshake, before any request byte.
            return "the TLS certificate was not accepted"
        if isinstance(
            cause, SandboxUnavailable | requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema
        ):
            return str(cause)
        if isinstance(cause, requests.exceptions.MissingSchema):
            return "the API URL is not a valid URL"
    return None


def _is_cloudflare_block(response: requests.Response, text: str) -> bool:
    if response.status_code not in (403, 429, 503):
        return False
    # Cloudflare marks its challenge with this header; on any other answer (a 200 from the
    # panel passing through Cloudflare, a 502) it proves nothing about whether the panel got it.
    if response.status_code in (403, 503) and response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    lowered = text[:20000].lower()
    markers = (
        "<title>just a moment...</title>",
        "challenge-platform",
        "cf-chl",
        "attention required! | cloudflare",
    )
    return any(marker in lowered for marker in markers)


def _entry_name(entry: Any) -> str:
    """`service 12` for a services entry, in our words (its text comes from the panel)."""
    try:
        return f"service {to_int(entry['service'])}"
    except (KeyError, TypeError, ValueError):
        return "an entry without a service id"


def _chunks(ids: Iterable[int | str]) -> Iterator[list[int]]:
    unique = list(dict.fromkeys(to_int(item) for item in ids))
    for start in range(0, len(unique), MAX_IDS_PER_CALL):
        yield unique[start : start + MAX_IDS_PER_CALL]


def _joined(ids: list[int]) -> str:
    return ",".join(str(item) for item in ids)


class JapClient:
    """A client for one panel account: one requests.Session, explicit timeouts, no retries.

    Every method raises ProviderRejected, ProviderUnreachable or ProviderOutcomeUnknown (all
    ProviderError) and returns typed results from `providers.client.results`.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        deadline: float | None = None,
        pace: Pacer | None = None,
    ) -> None:
        if api_key and api_key in urlsplit(api_url).query:
            # The key travels only in the POST body: a URL ends up in logs and tracebacks.
            raise ValueError("the API URL must not contain the API key (it is sent in the request body)")
        self.api_url = api_url
        self._api_key = api_key
        self.connect_timeout = (
            settings.PROVIDER_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        )
        self.read_timeout = settings.PROVIDER_READ_TIMEOUT if read_timeout is None else read_timeout
        self.deadline = settings.PROVIDER_CALL_DEADLINE if deadline is None else deadline
        self.pace = pace or _Unpaced()
        self.session = requests.Session()
        # Proxies from the environment would connect for us, to addresses we could not check;
        # and a .netrc must not add credentials to a panel's requests.
        self.session.trust_env = False
        self.session.headers.update(
            {"User-Agent": f"jappanel/{settings.VERSION}", "Accept": "application/json"}
        )
        # One click must be at most one request: a transport retry of a POST that reached the
        # panel would place (and charge) the same order twice.
        panel = PanelAdapter()
        self.session.mount("https://", panel)
        self.session.mount("http://", panel)
        self.session.mount("sandbox://", SandboxAdapter())

    def __repr__(self) -> str:
        return f"<JapClient {self._scrub(self.api_url)}>"

    def __enter__(self) -> JapClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # Actions -----------------------------------------------------------------------------

    def services(self) -> ServicesResult:
        """The panel's catalogue; a malformed entry is skipped and counted, not fatal."""
        data = self._call("services")
        if not isinstance(data, list):
            raise self._unrecognised("services", data)
        services, skipped = [], []
        for entry in data:
            try:
                services.append(ServiceInfo.from_json(entry))
            except ValueError as exc:
                skipped.append(f"{_entry_name(entry)}: {self._sentence(str(exc), SNIPPET_LENGTH)}")
        if skipped:
            logger.warning(
                "services: skipped %d malformed entries of %d: %s",
                len(skipped),
                len(data),
                "; ".join(skipped[:10]),
            )
        return ServicesResult(services=tuple(services), skipped=tuple(skipped))

    def add(self, service: int, **fields: OrderValue) -> int:
        """Place an order and return the panel's order id.

        ProviderOutcomeUnknown here means the order may exist and may have been charged.
        """
        params = encode_order_fields(fields)
        data = self._call("add", service=str(to_int(service)), **params)
        try:
            order_id = to_id(data["order"]) if isinstance(data, dict) else 0
        except (KeyError, ValueError):
            order_id = 0
        if order_id <= 0:
            raise self._unrecognised("add", data, "the order may have been placed and charged")
        return order_id

    def status(self, order_id: int) -> ProviderOrderStatus:
        return self._parse(
            "status", self._call("status", order=str(to_int(order_id))), ProviderOrderStatus.from_json
        )

    def statuses(self, ids: Iterable[int]) -> dict[int, ProviderOrderStatus | ItemError]:
        """Order states (or per-order errors), keyed by order id."""
        return self._multi("status", "orders", ids, self._parse_statuses)

    def refill(self, order_id: int) -> int:
        """Ask for a refill of one order; returns the refill id."""
        data = self._call("refill", order=str(to_int(order_id)))
        message = error_of(data.get("refill")) if isinstance(data, dict) else None
        if message is not None:
            raise ProviderRejected(self._sentence(message), action="refill")
        return self._parse("refill", data, lambda d: to_id(d["refill"]))

    def refills(self, ids: Iterable[int]) -> dict[int, int | ItemError]:
        """Refill ids (or per-order errors), keyed by order id."""
        return self._multi("refill", "orders", ids, lambda d: self._parse_list(d, "order", "refill", to_id))

    def refill_status(self, refill_id: int) -> str:
        data = self._call("refill_status", refill=str(to_int(refill_id)))
        return self._parse("refill_status", data, lambda d: self._refill_state(d["status"]))

    def refill_statuses(self, ids: Iterable[int]) -> dict[int, str | ItemError]:
        """Refill states (or per-refill errors), keyed by refill id."""
        return self._multi(
            "refill_status",
            "refills",
            ids,
            lambda d: self._parse_list(d, "refill", "status", self._refill_state),
        )

    def cancel(self, ids: Iterable[int]) -> dict[int, bool | ItemError]:
        """Ask to cancel orders; True where the panel accepted, ItemError where it refused."""
        return self._multi(
            "cancel", "orders", ids, lambda d: self._parse_list(d, "order", "cancel", self._cancelled)
        )

    def balance(self) -> Balance:
        return self._parse("balance", self._call("balance"), Balance.from_json)

    # Parsing -----------------------------------------------------------------------------

    def _parse(self, action: str, data: Any, parser: Callable[[Any], T]) -> T:
        try:
            return parser(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unrecognised(action, data, str(exc)) from None

    def _multi(
        self, action: str, param: str, ids: Iterable[int], parser: Callable[[Any], dict[int, T]]
    ) -> dict[int, T]:
        results: dict[int, T] = {}
        for chunk in _chunks(ids):
            try:
                results.update(self._parse(action, self._call(action, **{param: _joined(chunk)}), parser))
            except ProviderError as exc:
                # Earlier chunks were answered (and, for refill and cancel, acted on).
                exc.partial_results = dict(results)
                raise
        return results

    def _parse_statuses(self, data: Any) -> dict[int, ProviderOrderStatus | ItemError]:
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object keyed by order id, got {type(data).__name__}")
        results: dict[int, ProviderOrderStatus | ItemError] = {}
        for key, value in data.items():
            message = error_of(value)
            if message is not None:
                results[to_int(key)] = ItemError(self._sentence(message))
                continue
            try:
                results[to_int(key)] = ProviderOrderStatus.from_json(value)
            except ValueError as exc:
                # One order's answer not understood is that order's error, not the batch's.
                results[to_int(key)] = ItemError(f"unrecognised status answer: {self._sentence(str(exc))}")
        return results

    def _parse_list(
        self, data: Any, id_key: str, value_key: str, convert: Callable[[Any], T]
    ) -> dict[int, T | ItemError]:
        if not isinstance(data, list):
            raise ValueError(f"expected a JSON array, got {type(data).__name__}")
        results: dict[int, T | ItemError] = {}
        for item in data:
            message = error_of(item[value_key])
            results[to_int(item[id_key])] = (
                ItemError(self._sentence(message)) if message is not None else convert(item[value_key])
            )
        return results

    @staticmethod
    def _refill_state(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a refill status string, got {value!r}")
        return one_line(value, STATUS_LENGTH)

    def _cancelled(self, value: Any) -> bool | ItemError:
        if value is True or (not isinstance(value, bool) and value in (1, "1")):
            return True
        if isinstance(value, str) and value.strip() and not value.strip().isdigit():
            # Some panels put the bare translation key (`error.incorrect_order_id`) here.
            return ItemError(self._sentence(value))
        raise ValueError(f"unrecognised cancel answer {value!r}")

    # Transport ---------------------------------------------------------------------------

    def _call(self, action: str, **params: str) -> Any:
        """POST one action and return the decoded JSON; raise the ProviderError that fits.

        Every call, whatever its end, is reported through `signals.call_finished`. It waits for
        a slot of the provider's pace first; a rate-limit answer tells the pace to slow down.
        """
        with self.pace.slot() as ticket:
            started = time.monotonic()
            outcome = "outcome_unknown"
            try:
                data = self._post(action, started, **params)
            except ProviderRateLimited as exc:
                outcome = "rate_limited"
                ticket.slow_down(exc.retry_after)
                raise
            except ProviderRejected:
                outcome = "rejected"
                raise
            except ProviderUnreachable:
                outcome = "unreachable"
                raise
            else:
                outcome = "ok"
                return data
            finally:
                call_finished.send(
                    sender=JapClient, action=action, outcome=outcome, seconds=time.monotonic() - started
                )

    def _post(self, action: str, started: float, **params: str) -> Any:
        with call_deadline(self.deadline) as deadline:
            try:
                response = self.session.post(
                    self.api_url,
                    data={"key": self._api_key, "action": action, **params},
                    # The read timeout bounds each wait; the deadline, the whole call.
                    timeout=(self.connect_timeout, min(self.read_timeout, self.deadline)),
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    body = self._read(action, response, deadline)
            except requests.RequestException as exc:
                raise self._transport_error(action, exc, deadline) from exc
        elapsed = (time.monotonic() - started) * 1000
        logger.info("%s %s -> HTTP %s in %.0f ms", self._host, action, response.status_code, elapsed)
        return self._decode(action, response, body)

    def max_answer_bytes(self, action: str) -> int:
        """The largest answer read for `action`: a services list is large, everything else small."""
        megabytes = (
            settings.PROVIDER_MAX_SERVICES_MB if action == "services" else settings.PROVIDER_MAX_ANSWER_MB
        )
        return int(megabytes * MEGABYTE)

    def _read(self, action: str, response: requests.Response, deadline: CallDeadline) -> bytes:
        """The answer's body, refused past its size cap; the request was sent, so any failure
        here leaves the outcome unknown."""
        cap = self.max_answer_bytes(action)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(action, cap)
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise self._too_large(action, cap)
            chunks.append(chunk)
        if deadline.expired:
            # The socket was shut under a read that then saw a (too early) end of the answer.
            raise self._past_deadline(action)
        return b"".join(chunks)

    def _too_large(self, action: str, cap: int) -> ProviderOutcomeUnknown:
        return ProviderOutcomeUnknown(
            f"{action}: the answer from {self._host} is larger than {_size(cap)} and was not read; "
            f"the panel may have processed the request{self._charged(action)}",
            action=action,
        )

    def _past_deadline(self, action: str) -> ProviderOutcomeUnknown:
        return ProviderOutcomeUnknown(
            f"{action}: no complete answer from {self._host} within {self.deadline:g}s; "
            f"the panel may have processed the request{self._charged(action)}",
            action=action,
        )

    @staticmethod
    def _charged(action: str) -> str:
        return " and charged the order" if action == "add" else ""

    def _transport_error(
        self, action: str, exc: requests.RequestException, deadline: CallDeadline
    ) -> Exception:
        reason = _never_sent_reason(exc)
        if reason is not None:
            return ProviderUnreachable(
                f"{action}: could not reach the panel at {self._host}: {self._scrub(reason)}", action=action
            )
        if deadline.expired:
            return self._past_deadline(action)
        if isinstance(exc, requests.Timeout):
            what = f"no answer within the read timeout ({min(self.read_timeout, self.deadline):g}s)"
        elif isinstance(exc, requests.ConnectionError):
            what = "the connection was closed before an answer arrived"
        else:
            what = f"the answer could not be read ({type(exc).__name__})"
        return ProviderOutcomeUnknown(
            f"{action}: {what}; the panel at {self._host} may have processed the request"
            + self._charged(action),
            action=action,
        )

    def _decode(self, action: str, response: requests.Response, body: bytes) -> Any:
        response._content, response._content_consumed = body, True
        text = response.text
        if response.status_code == 429:
            # Refused before anything was done, whatever the page says (a Cloudflare limit too).
            raise ProviderRateLimited(
                f"{action}: {self._host} says we call it too often (HTTP 429); calling it slower",
                action=action,
                retry_after=_retry_after(response),
            )
        if _is_cloudflare_block(response, text) or (
            response.status_code in CLOUDFLARE_ORIGIN_UNREACHABLE
            and response.headers.get("Server", "").lower() == "cloudflare"
        ):
            raise ProviderUnreachable(
                f"{action}: Cloudflare stopped the request before the panel "
                f"(HTTP {response.status_code}, {self._described(response, text)})",
                action=action,
            )
        if response.status_code >= 500 or 300 <= response.status_code < 400:
            raise self._outcome_unknown(action, response, text)
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        except ValueError:
            raise self._outcome_unknown(action, response, text, "an answer that is not JSON") from None
        message = error_of(data)
        if message is not None and _RATE_LIMIT_SENTENCE.search(message):
            raise ProviderRateLimited(
                self._sentence(message), action=action, retry_after=_retry_after(response)
            )
        if message is not None:
            raise ProviderRejected(self._sentence(message), action=action)
        if response.status_code >= 400:
            raise self._outcome_unknown(action, response, text)
        return data

    def _outcome_unknown(
        self, action: str, response: requests.Response, text: str, what: str = "an unexpected answer"
    ) -> ProviderOutcomeUnknown:
        return ProviderOutcomeUnknown(
            f"{action}: {what} from {self._host} (HTTP {response.status_code}, "
            f"{self._described(response, text)}); the panel may have processed the request"
            + self._charged(action),
            action=action,
        )

    def _unrecognised(self, action: str, data: Any, detail: str = "") -> ProviderOutcomeUnknown:
        body = self._scrub(json.dumps(data, default=str))[:SNIPPET_LENGTH]
        return ProviderOutcomeUnknown(
            f"{action}: unrecognised answer from {self._host}"
            + (f" ({detail})" if detail else "")
            + f": {body}",
            action=action,
        )

    def _described(self, response: requests.Response, text: str) -> str:
        """What came back, in a few words, never the body itself: a panel's page could say
        anything to whoever reads the error (and may echo what we sent)."""
        if _is_cloudflare_block(response, text):
            return "a Cloudflare challenge"
        if not text.strip():
            return "an empty answer"
        head = text[:20000]
        content_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if content_type == "text/html" or head.lstrip()[:100].lower().startswith(("<!doctype html", "<html")):
            match = _TITLE.search(head)
            title = self._sentence(html.unescape(match.group(1)), TITLE_LENGTH) if match else ""
            return f"an HTML page titled {title!r}" if title else "an HTML page without a title"
        if content_type == "application/json":
            return f"JSON of {len(text):,} characters"
        return f"{content_type or 'an answer without a content type'} of {len(text):,} characters"

    def _sentence(self, text: str, length: int = MESSAGE_LENGTH) -> str:
        """`text` on one line, without control characters, scrubbed, at most `length` characters."""
        return one_line(self._scrub(text), length)

    @property
    def _host(self) -> str:
        return host_of(self.api_url)

    def _scrub(self, text: str) -> str:
        userinfo = urlsplit(self.api_url).netloc.rpartition("@")[0]
        if userinfo:
            text = text.replace(self.api_url, without_credentials(self.api_url))
        # A user name or password too short to be secret would garble the message if replaced.
        secrets = {part for part in (userinfo, *userinfo.split(":", 1)[1:]) if len(part) >= 4}
        if self._api_key:
            secrets |= {self._api_key, quote(self._api_key, safe=""), quote_plus(self._api_key)}
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "••••")
        return text


def _size(count: int) -> str:
    return f"{count / MEGABYTE:g} MB" if count >= MEGABYTE else f"{count / 1024:g} kB"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")
