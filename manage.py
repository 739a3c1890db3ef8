#!/usr/bin/env python
"""Django's command-line utility, with operator-facing errors as one readable line."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jappanel.settings")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        # A wrong DATABASE_URL or a server that is down: say so in one line, no traceback.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.exit(f"jappanel: cannot use the database: {first_line}")


if __name__ == "__main__":
    main()
