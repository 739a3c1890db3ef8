"""The Docker HEALTHCHECK of the web container: GET /healthz, with nothing but the stdlib.

`python -m jappanel.healthcheck [URL]` exits 0 when the answer is 200. It sends the first of
ALLOWED_HOSTS as the Host header, since Django refuses any other; it starts no Django at all,
so a check every 30 s costs next to nothing.
"""

from __future__ import annotations

import os
import sys
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def host_header() -> str:
    first = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
    return first if first and first != "*" else "localhost"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    request = urllib.request.Request(url, headers={"Host": host_header()})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            status = response.status
    except OSError as exc:  # refused, timed out, or an HTTP error status
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
