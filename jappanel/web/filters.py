"""What the list pages' filters share: "is this list narrowed?", id filters and day ranges.

A page's FilterSet subclasses `ListFilterSet` and, when some of its filters do not narrow its list
(a sort, a period), names in FILTERS those that do; the page shows "No … matches" and a "Clear
filters" link when `is_filtering`. `DayRangeFilterSet` adds the From / To days of `DAY_FIELD`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, ClassVar

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from jappanel.web.pagination import MAX_ID_DIGITS

# Beyond this a number cannot be an id, and the database would refuse it.
MAX_ID = 10**MAX_ID_DIGITS - 1


def day_start(day: Any) -> datetime:
    """The first moment of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def id_filter(field_name: str, label: str) -> django_filters.NumberFilter:
    """A filter on an id column that turns away what cannot be an id (not an error page)."""
    return django_filters.NumberFilter(field_name=field_name, label=label, min_value=0, max_value=MAX_ID)


class ListFilterSet(django_filters.FilterSet):
    """A list page's filters, read from its query string."""

    # The filters that narrow the list; None: every one.
    FILTERS: ClassVar[tuple[str, ...] | None] = None

    @property
    def is_filtering(self) -> bool:
        """Whether the query string narrows the list."""
        self.is_valid()  # validates once; a value that does not validate is left out, not applied
        names = self.filters if self.FILTERS is None else self.FILTERS
        return any(self.form.cleaned_data.get(name) not in (None, "") for name in names)


class DayRangeFilterSet(ListFilterSet):
    """A list with From / To days on `DAY_FIELD`, both days included."""

    DAY_FIELD: ClassVar[str]

    since = django_filters.DateFilter(method="from_day", label="From")
    until = django_filters.DateFilter(method="to_day", label="To")

    def from_day(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        # A range on the column itself (not `__date`) so that its index answers it.
        return queryset.filter(**{f"{self.DAY_FIELD}__gte": day_start(value)})

    def to_day(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.DAY_FIELD}__lt": day_start(value + timedelta(days=1))})
