"""What the client needs to know about a panel's URL: where its key may go, how it is shown, and
which network addresses it may reach."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"https": 443, "http": 80}
# 100.64.0.0/10 is carrier-grade NAT: not routable on the internet, but `is_private` misses it.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


def without_credentials(url: str) -> str:
    """`url` with any `user:password@` removed: the form a URL is shown and logged in."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def host_of(url: str) -> str:
    """`host[:port]` of `url`, without credentials, for sentences about the panel."""
    return urlsplit(url).netloc.rpartition("@")[2] or without_credentials(url)


def origin_of(url: str) -> str:
    """`scheme://host:port`, lower case, default port made explicit: where an API key may be sent.

    A URL that cannot be parsed has no origin (""), which matches no key.
    """
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").rstrip(".")
    if not parts.scheme or not host:
        return ""
    port = port or DEFAULT_PORTS.get(parts.scheme)
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")


def address_kind(address: str) -> str | None:
    """Why `address` (an IP) is inside a network rather than on the internet, or None if public.

    IPv4 addresses mapped into IPv6 (`::ffff:127.0.0.1`) are judged as the IPv4 address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("shared (carrier-grade NAT)", ip.version == 4 and ip in SHARED_ADDRESS_SPACE),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((kind for kind, applies in checks if applies), None)


def literal_address(url: str) -> str | None:
    """The host of `url` when it is written as an IP address (or `localhost`), else None."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
