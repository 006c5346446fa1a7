"""Date windows: one parser for every `start_date`/`end_date` pair of the API.

Values are ISO 8601: `Z`, an offset, or naive (taken as UTC); a bare date means midnight
UTC. `start_date` is inclusive, `end_date` exclusive. A bad format is 422 (a validation
error on that parameter); a reversed window is `400 start_date must be less than or equal
to end_date`.
"""

from datetime import UTC, datetime, time

from django.utils.dateparse import parse_date, parse_datetime

from hyperrep.errors import InvalidValue

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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-01:00 is past the last representable instant
        raise ValueError(BAD_FORMAT) from None


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidValue(REVERSED)
