"""Conversation analytics of a window (docs/analytics.md), computed by the database.

A window [start, end) is read in two parts. Its whole hours come from the hourly rollup
(models.HourlyTotals, a row an hour); the pieces at either end, under an hour each, come
straight from the conversations and messages, by their indexes. The median and 90th
percentile are found in two steps: the response-band rollup (models.DailyResponseBand, by
whole days, plus the ends' own conversations) tells which band holds the rank and how far into
it, then one indexed query reads that value among the window's conversations in that band.
So a window of a year reads a few thousand rollup rows, whatever the number of messages.

Python only adds and rounds the exact integers the database answers: half away from zero,
never through a float.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Count, Q, Sum

from apps.analytics import rollup
from apps.analytics.models import DailyResponseBand, HourlyTotals
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.organizations.models import Organization

MICROSECONDS = 1_000_000


class DateWindow(NamedTuple):
    """[start, end): start inclusive, end exclusive."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class ResponseRate:
    responded: int
    received: int
    rate: float | None


@dataclass(frozen=True)
class ResponseTime:
    mean: int | None
    median: int | None
    p90: int | None


@dataclass(frozen=True)
class Volume:
    messages_received: int
    messages_sent: int
    total_conversations: int


@dataclass(frozen=True)
class ModalityCounts:
    text: int
    call: int
    email: int
    live_chat: int
    form: int


@dataclass(frozen=True)
class ConversationAnalytics:
    response_rate: ResponseRate
    response_time: ResponseTime
    volume: Volume
    modality: ModalityCounts


@dataclass
class Totals:
    """Every additive figure of a window (the columns of models.HourlyTotals)."""

    messages_received: int = 0
    messages_sent: int = 0
    conversations_started: int = 0
    first_inbound_email: int = 0
    first_inbound_text: int = 0
    first_inbound_call: int = 0
    first_inbound_live_chat: int = 0
    first_inbound_form: int = 0
    responded: int = 0
    response_time_us: int = 0  # the sum over the responded

    @property
    def received(self) -> int:
        return sum(getattr(self, f"first_inbound_{modality}") for modality in Modality.values)


def divide_rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, for numerator >= 0 and
    denominator > 0: exact at any size."""
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (2 * remainder >= denominator)


def nearest_rank(count: int, percent: int) -> int:
    """The nearest rank of a percentile, ceil(percent / 100 * count), in exact integers."""
    return -(-count * percent // 100)


# -- reading a window ---------------------------------------------------------------------------


def _split(
    window: DateWindow, floor: Callable[[datetime], datetime], ceil: Callable[[datetime], datetime]
) -> tuple[DateWindow | None, list[DateWindow]]:
    """The window's whole units (hours, days) and the pieces left at either end."""
    first, last = ceil(window.start), floor(window.end)
    if first >= last:
        return None, [window]
    ends = [DateWindow(window.start, first), DateWindow(last, window.end)]
    return DateWindow(first, last), [end for end in ends if end.start < end.end]


def _within(field: str, windows: list[DateWindow]) -> Q:
    condition = Q(pk__in=[])
    for piece in windows:
        condition |= Q(**{f"{field}__gte": piece.start, f"{field}__lt": piece.end})
    return condition


def totals(*, organization: Organization, window: DateWindow) -> Totals:
    """The hourly rollup over the window's whole hours, the rows themselves at its ends."""
    hours, ends = _split(window, rollup.floor_hour, rollup.ceil_hour)
    result = Totals()
    if hours is not None:
        names = [field.name for field in fields(Totals)]
        summed = (
            HourlyTotals.objects.for_org(organization)
            .filter(hour__gte=hours.start, hour__lt=hours.end)
            .aggregate(**{name: Sum(name, default=0) for name in names})
        )
        result = Totals(**summed)
    if ends:
        _add_rows(result, organization, ends)
    return result


def _add_rows(result: Totals, organization: Organization, ends: list[DateWindow]) -> None:
    """Add what the rows in these short windows contribute, read from their indexes."""
    messages = (
        Message.objects.for_org(organization)
        .filter(_within("sent_at", ends))
        .values("direction")
        .annotate(count=Count("direction"))
        .order_by()
    )
    for row in messages:
        name = "messages_received" if row["direction"] == Direction.RECEIVED else "messages_sent"
        setattr(result, name, getattr(result, name) + row["count"])
    conversations = Conversation.objects.for_org(organization)
    result.conversations_started += conversations.filter(_within("start_at", ends)).count()
    firsts = (
        conversations.filter(_within("first_inbound_at", ends))
        .values("first_inbound_modality")
        .annotate(
            received=Count("first_inbound_modality"),
            responded=Count("response_time_us"),
            response_time_us=Sum("response_time_us", default=0),
        )
        .order_by()
    )
    for group in firsts:
        name = f"first_inbound_{group['first_inbound_modality']}"
        setattr(result, name, getattr(result, name) + group["received"])
        result.responded += group["responded"]
        result.response_time_us += group["response_time_us"]


def _band_counts(organization: Organization, window: DateWindow) -> dict[int, int]:
    """How many of the window's responded conversations are in each response band."""
    days, ends = _split(window, rollup.floor_day, rollup.ceil_day)
    counts: dict[int, int] = {}
    if days is not None:
        counts = dict(
            DailyResponseBand.objects.for_org(organization)
            .filter(day__gte=days.start, day__lt=days.end)
            .values("band")
            .annotate(count=Sum("conversations"))
            .order_by()
            .values_list("band", "count")
        )
    if ends:
        rows = (
            Conversation.objects.for_org(organization)
            .filter(_within("first_inbound_at", ends), response_time_us__isnull=False)
            .annotate(band=rollup.band_expression("response_time_us"))
            .values("band")
            .annotate(count=Count("band"))
            .order_by()
            .values_list("band", "count")
        )
        for number, count in rows:
            counts[number] = counts.get(number, 0) + count
    return counts


def _ranked(
    organization: Organization, window: DateWindow, bands: dict[int, int], rank: int
) -> int:
    """The response time (microseconds) at `rank` (from 1) of the window's sorted times."""
    below = 0
    for number in sorted(bands):
        if below + bands[number] >= rank:
            low, high = rollup.band_bounds(number)
            value = (
                Conversation.objects.for_org(organization)
                .filter(
                    first_inbound_at__gte=window.start,
                    first_inbound_at__lt=window.end,
                    response_time_us__gte=low,
                    response_time_us__lt=high,
                )
                .order_by("response_time_us")
                .values_list("response_time_us", flat=True)[rank - below - 1]
            )
            assert value is not None  # the band's bounds exclude nulls
            return value
        below += bands[number]
    raise AssertionError(f"rank {rank} is past the {below} response times of the bands")


# -- the blocks ---------------------------------------------------------------------------------


def response_rate(figures: Totals) -> ResponseRate:
    rate = None
    if figures.received:
        rate = divide_rounded(figures.responded * 10_000, figures.received) / 10_000
    return ResponseRate(figures.responded, figures.received, rate)


def response_time(
    *, organization: Organization, window: DateWindow, figures: Totals
) -> ResponseTime:
    """The mean, and the nearest-rank median and 90th percentile (the value at rank
    ceil(p * n) of the sorted times), in whole seconds."""
    count = figures.responded
    if not count:
        return ResponseTime(None, None, None)
    bands = _band_counts(organization, window)

    def seconds_at(percent: int) -> int:
        value = _ranked(organization, window, bands, nearest_rank(count, percent))
        return divide_rounded(value, MICROSECONDS)

    return ResponseTime(
        mean=divide_rounded(figures.response_time_us, count * MICROSECONDS),
        median=seconds_at(50),
        p90=seconds_at(90),
    )


def volume(figures: Totals) -> Volume:
    return Volume(
        messages_received=figures.messages_received,
        messages_sent=figures.messages_sent,
        total_conversations=figures.conversations_started,
    )


def modality_counts(figures: Totals) -> ModalityCounts:
    return ModalityCounts(
        text=figures.first_inbound_text,
        call=figures.first_inbound_call,
        email=figures.first_inbound_email,
        live_chat=figures.first_inbound_live_chat,
        form=figures.first_inbound_form,
    )


def conversation_analytics(
    *, organization: Organization, window: DateWindow
) -> ConversationAnalytics:
    figures = totals(organization=organization, window=window)
    return ConversationAnalytics(
        response_rate=response_rate(figures),
        response_time=response_time(organization=organization, window=window, figures=figures),
        volume=volume(figures),
        modality=modality_counts(figures),
    )


def breakout(name: str, *, organization: Organization, window: DateWindow) -> Any:
    """One block of the combined answer, computed alone."""
    figures = totals(organization=organization, window=window)
    if name == "response_time":
        return response_time(organization=organization, window=window, figures=figures)
    return {"response_rate": response_rate, "volume": volume, "modality": modality_counts}[name](
        figures
    )
