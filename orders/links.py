"""When two links are the same link: the key orders on one link are compared by."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

# Query parameters that say who shared a link or from where, never what it points to.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "igsh",
        "si",
        "feature",
        "ref_src",
        "ref_url",
        "mibextid",
        "is_from_webapp",
        "sender_device",
        "sender_web_id",
        "_r",
        "_t",
        "share_app_id",
        "share_link_id",
        "app",
    }
)
TRACKING_PREFIXES = ("utm_",)
# Host prefixes that lead to the same page as the bare host.
SAME_HOST_PREFIXES = ("www.", "m.", "mobile.")


def _tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def link_normalise(link: str) -> str:
    """The key of `link`: two links with one key point to the same thing for a panel.

    Ignored: the scheme (a link typed without one is read as https), a `www.`/`m.` host
    prefix, the host's case, a default port, trailing slashes, the fragment, tracking
    parameters (`utm_*`, `fbclid`, `igshid`, `si`…) and the order of the other parameters.
    The path keeps its case: video and post ids are case-sensitive. An empty link has the
    empty key (such an order never waits for another).
    """
    text = link.strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return text.lower()
    stripped = True
    while stripped:
        stripped = False
        for prefix in SAME_HOST_PREFIXES:
            if host.startswith(prefix) and "." in host[len(prefix) :]:
                host, stripped = host[len(prefix) :], True
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = sorted(
        (name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(name)
    )
    return (host + path + (f"?{urlencode(query)}" if query else "")).strip()
