"""Date windows: one parser for every `start_date`/`end_date` pair of the API.

Values are ISO 8601: `Z`, an offset, or naive (taken as UTC); a bare date means midnight
UTC. `start_date` is inclusive, `end_date` exclusive. A bad format is 422 (a validation
error on that parameter); a reversed window is `400 start_date must be less than or equal
to end_date`.
"""

from datetime import UTC, datetime, time
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from hyperrep.api.exceptions import InvalidValue

BAD_FORMAT = "Enter an ISO 8601 date or datetime, e.g. 2026-03-12 or 2026-03-12T00:32:13Z."
REVERSED = "start_date must be less than or equal to end_date"


def parse_instant(value: str) -> datetime:
    """Parse an ISO 8601 date or datetime to an aware UTC datetime; ValueError otherwise."""
    parsed: datetime | None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime.combine(day, time.min, tzinfo=UTC) if day else None
    except ValueError:  # well formed but impossible, e.g. 2026-02-30
        parsed = None
    if parsed is None:
        raise ValueError(BAD_FORMAT)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidValue(REVERSED)


class InstantField(forms.Field):
    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        try:
            return parse_instant(str(value).strip())
        except ValueError:
            raise forms.ValidationError(BAD_FORMAT) from None


class InstantFilter(django_filters.Filter):
    field_class = InstantField


class DateRangeFilterSet(django_filters.FilterSet):
    """A filter set whose `start_date`/`end_date` bound the column named by `date_field`."""

    date_field = "created_at"

    start_date = InstantFilter(lookup_expr="gte", label="Inclusive lower bound (ISO 8601)")
    end_date = InstantFilter(lookup_expr="lt", label="Exclusive upper bound (ISO 8601)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["start_date"].field_name = self.date_field
        self.filters["end_date"].field_name = self.date_field

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        check_window(
            self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
        )
        return super().filter_queryset(queryset)
