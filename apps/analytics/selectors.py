"""Conversation analytics of a window (API.md section 10), computed by the database.

Conversations carry what they derive from their messages (models.Conversation: the first
inbound message's time and modality, the microseconds to the first response), kept exact by
every write path. So a window's numbers are aggregates over two index ranges: conversations
by first inbound time, messages by `sent_at`. Python only rounds the exact integers the
database answers: half away from zero, never through a float.
"""

from dataclasses import dataclass

from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber

from apps.analytics.filters import DateWindow
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.organizations.models import Organization, TenantQuerySet

MICROSECONDS = 1_000_000


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


@dataclass(frozen=True)
class FirstInbounds:
    """The conversations whose first inbound message falls in the window."""

    received: int
    responded: int
    response_time_us: int  # the sum over the responded
    by_modality: dict[str, int]


def divide_rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, for numerator >= 0 and
    denominator > 0: exact at any size."""
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (2 * remainder >= denominator)


def nearest_rank(count: int, percent: int) -> int:
    """The nearest rank of a percentile, ceil(percent / 100 * count), in exact integers."""
    return -(-count * percent // 100)


def first_inbounds(*, organization: Organization, window: DateWindow) -> FirstInbounds:
    """One range scan of `conversation_first_inbound`, grouped by modality."""
    groups = (
        _first_inbound_in(organization, window)
        .values("first_inbound_modality")
        .annotate(
            received=Count("first_inbound_modality"),
            responded=Count("response_time_us"),
            response_time_us=Sum("response_time_us"),
        )
        .order_by()
    )
    by_modality = dict.fromkeys(Modality.values, 0)
    responded = response_time_us = 0
    for group in groups:
        by_modality[group["first_inbound_modality"]] = group["received"]
        responded += group["responded"]
        response_time_us += group["response_time_us"] or 0
    return FirstInbounds(sum(by_modality.values()), responded, response_time_us, by_modality)


def response_rate(firsts: FirstInbounds) -> ResponseRate:
    rate = None
    if firsts.received:
        rate = divide_rounded(firsts.responded * 10_000, firsts.received) / 10_000
    return ResponseRate(firsts.responded, firsts.received, rate)


def response_time(
    *, organization: Organization, window: DateWindow, firsts: FirstInbounds
) -> ResponseTime:
    """The mean, and the nearest-rank median and 90th percentile (the value at rank
    ceil(p * n) of the sorted times), in whole seconds."""
    count = firsts.responded
    if not count:
        return ResponseTime(None, None, None)
    median_rank, p90_rank = nearest_rank(count, 50), nearest_rank(count, 90)
    ranked = dict(
        _first_inbound_in(organization, window)
        .filter(response_time_us__isnull=False)
        .annotate(rank=Window(RowNumber(), order_by=F("response_time_us").asc()))
        .filter(rank__in={median_rank, p90_rank})
        .values_list("rank", "response_time_us")
    )
    return ResponseTime(
        mean=divide_rounded(firsts.response_time_us, count * MICROSECONDS),
        median=divide_rounded(ranked[median_rank], MICROSECONDS),
        p90=divide_rounded(ranked[p90_rank], MICROSECONDS),
    )


def volume(*, organization: Organization, window: DateWindow) -> Volume:
    """Messages by direction (a range scan of `message_by_sent_at`) and conversations started
    (of `conversation_newest_first`), in the window."""
    directions = dict(
        Message.objects.for_org(organization)
        .filter(sent_at__gte=window.start, sent_at__lt=window.end)
        .values("direction")
        .annotate(count=Count("direction"))
        .order_by()
        .values_list("direction", "count")
    )
    started = (
        Conversation.objects.for_org(organization)
        .filter(start_at__gte=window.start, start_at__lt=window.end)
        .count()
    )
    return Volume(
        messages_received=directions.get(Direction.RECEIVED, 0),
        messages_sent=directions.get(Direction.SENT, 0),
        total_conversations=started,
    )


def modality_counts(firsts: FirstInbounds) -> ModalityCounts:
    counts = firsts.by_modality
    return ModalityCounts(
        text=counts[Modality.TEXT],
        call=counts[Modality.CALL],
        email=counts[Modality.EMAIL],
        live_chat=counts[Modality.LIVE_CHAT],
        form=counts[Modality.FORM],
    )


def conversation_analytics(
    *, organization: Organization, window: DateWindow
) -> ConversationAnalytics:
    firsts = first_inbounds(organization=organization, window=window)
    return ConversationAnalytics(
        response_rate=response_rate(firsts),
        response_time=response_time(organization=organization, window=window, firsts=firsts),
        volume=volume(organization=organization, window=window),
        modality=modality_counts(firsts),
    )


def _first_inbound_in(organization: Organization, window: DateWindow) -> TenantQuerySet:
    return Conversation.objects.for_org(organization).filter(
        first_inbound_at__gte=window.start, first_inbound_at__lt=window.end
    )
