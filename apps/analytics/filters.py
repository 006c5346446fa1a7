"""The window every analytics endpoint takes (docs/analytics.md): `start_date` (inclusive) and
`end_date` (exclusive), both required, in order, and neither later than the server's clock."""

from datetime import datetime

from django import forms
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.analytics.selectors import DateWindow
from hyperrep.api.dates import check_window
from hyperrep.api.filters import InstantField
from hyperrep.errors import InvalidValue

FUTURE = "start_date and end_date cannot be in the future"
WINDOW = frozenset({"start_date", "end_date"})


def window_from(request: Request) -> DateWindow:
    """The request's window: 422 naming each date that is missing or badly formatted, then
    `400` for a reversed window or one that reaches into the future."""
    problems: list[str] = []
    dates: list[datetime] = []
    for name in ("start_date", "end_date"):
        raw = request.query_params.get(name, "")
        if raw == "":
            problems.append(f"{name} is required")
            continue
        try:
            dates.append(InstantField().clean(raw))
        except forms.ValidationError as invalid:
            problems += [f"{name}: {message}" for message in invalid.messages]
    if problems:
        raise ValidationError(problems)
    start, end = dates
    check_window(start, end)
    now = timezone.now()
    if start > now or end > now:
        raise InvalidValue(FUTURE)
    return DateWindow(start, end)
