"""Keyset pages: long lists, newest first, where a deep page costs what the first page costs.

`keyset_page()` reads one page after (`?older=`) or before (`?newer=`) a cursor, and the list's
count, exact up to EXACT_COUNT_LIMIT and PostgreSQL's estimate above it. The pages show it with
the "← Newer / Older →" links of `templates/partials/_keyset_pager.html`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

# Above this many rows the count is the planner's estimate, shown with "≈".
EXACT_COUNT_LIMIT = 100_000
PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ids are bigints: a longer run of digits cannot be one.
MAX_ID_DIGITS = 18


@dataclass(frozen=True)
class KeysetPage:
    """One page of a list ordered newest first, and the cursors of its neighbours."""

    rows: list[Any]
    newer: str | None
    older: str | None
    count: int
    estimated: bool


def page_cursor(row: Any, field: str) -> str:
    """The position of `row` in a list ordered by `field` then id, for `?older=` or `?newer=`."""
    micros = (getattr(row, field) - EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{row.pk}"


def _parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    """A cursor from the query string; a malformed one is no cursor (the first page)."""
    micros, _, pk = (value or "").partition("-")
    if (
        not (micros.isascii() and pk.isascii() and micros.isdigit() and pk.isdigit())
        or len(micros) > 16
        or len(pk) > MAX_ID_DIGITS
    ):
        return None
    return EPOCH + timedelta(microseconds=int(micros)), int(pk)


def keyset_page(
    queryset: QuerySet[Any],
    *,
    field: str,
    older: str | None,
    newer: str | None,
    size: int = PAGE_SIZE,
    soonest_first: bool = False,
    exact_count_limit: int = EXACT_COUNT_LIMIT,
) -> KeysetPage:
    """The page after cursor `older` (or before `newer`), ordered by `field` then id, newest
    first (or soonest first: `older` is then further ahead, as "expiring soon first").

    `field <= x AND (field < x OR id < y)` rather than the plain OR: the first term is a range
    on the index, so a deep page costs what the first page costs (OFFSET would read every row
    before it).
    """
    before, after = _parse_cursor(older), _parse_cursor(newer)
    down, up = ("gt", "lt") if soonest_first else ("lt", "gt")
    forward, backward = ((field, "pk"), (f"-{field}", "-pk"))[:: 1 if soonest_first else -1]
    ordered = queryset.order_by(*forward)
    if before is not None:
        moment, pk = before
        ordered = ordered.filter(
            Q(**{f"{field}__{down}": moment}) | Q(**{f"pk__{down}": pk}), **{f"{field}__{down}e": moment}
        )
    elif after is not None:
        moment, pk = after
        ordered = queryset.order_by(*backward).filter(
            Q(**{f"{field}__{up}": moment}) | Q(**{f"pk__{up}": pk}), **{f"{field}__{up}e": moment}
        )
    rows = list(ordered[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if after is not None:
        rows.reverse()
    has_newer = more if after is not None else before is not None
    has_older = more if after is None else True
    count, estimated = estimated_count(queryset, exact_limit=exact_count_limit)
    return KeysetPage(
        rows=rows,
        newer=page_cursor(rows[0], field) if rows and has_newer else None,
        older=page_cursor(rows[-1], field) if rows and has_older else None,
        count=count,
        estimated=estimated,
    )


def estimated_count(queryset: QuerySet[Any], *, exact_limit: int = EXACT_COUNT_LIMIT) -> tuple[int, bool]:
    """How many rows `queryset` has, and whether that is the planner's estimate.

    An exact count of a million rows costs more than the whole page; above `exact_limit`
    PostgreSQL's estimate is close enough to say "≈ 1,000,000". A list whose rows each cost a
    subquery (Refills due) counts exactly only up to a lower limit.
    """
    queryset = queryset.order_by()
    if connection.vendor == "postgresql":
        sql, params = queryset.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        estimate = int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
        if estimate > exact_limit:
            return estimate, True
    capped = queryset.values("pk")[: exact_limit + 1].count()
    return capped, capped > exact_limit
