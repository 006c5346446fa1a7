"""docs/analytics.md in plain Python, written from its text, for the tests to compare against:
no database aggregates, no shared code with apps/analytics, exact fractions throughout."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from apps.analytics import rollup
from apps.analytics.models import DailyResponseBand, HourlyTotals
from apps.conversations.models import Conversation, Message
from apps.organizations.models import Organization

KEYS = {"text": "textMessages", "call": "calls", "email": "emails"}
KEYS |= {"live_chat": "liveChats", "form": "formRequests"}


@dataclass(frozen=True)
class Msg:
    recorded: int  # the order the server recorded it in
    direction: str
    modality: str
    sent_at: datetime


@dataclass(frozen=True)
class Thread:
    start_at: datetime
    messages: tuple[Msg, ...]


@dataclass(frozen=True)
class Derived:
    """What a conversation derives from its messages."""

    last_activity_at: datetime
    first_inbound_at: datetime | None
    first_inbound_modality: str | None
    response_time_us: int | None


def derive(thread: Thread) -> Derived:
    received = sorted(
        (m for m in thread.messages if m.direction == "received"),
        key=lambda m: (m.sent_at, m.recorded),
    )
    last = max((m.sent_at for m in thread.messages), default=thread.start_at)
    if not received:
        return Derived(last, None, None, None)
    first = received[0]
    responses = [
        m.sent_at for m in thread.messages if m.direction == "sent" and m.sent_at >= first.sent_at
    ]
    waited = (min(responses) - first.sent_at) // timedelta(microseconds=1) if responses else None
    return Derived(last, first.sent_at, first.modality, waited)


def round_half_away(value: Fraction, places: int = 0) -> Fraction:
    scaled = value * 10**places
    whole = math.floor(abs(scaled) + Fraction(1, 2))
    return Fraction(int(math.copysign(whole, scaled)), 10**places)


def nearest_rank(values: list[Fraction], p: Fraction) -> Fraction:
    return sorted(values)[math.ceil(p * len(values)) - 1]


def analytics(threads: Iterable[Thread], start: datetime, end: datetime) -> dict[str, Any]:
    """The combined answer of `GET …/analytics/conversations` for these conversations."""
    threads = list(threads)
    received = responded = 0
    times: list[Fraction] = []
    modality = dict.fromkeys(KEYS.values(), 0)
    for thread in threads:
        derived = derive(thread)
        if derived.first_inbound_at is None or not start <= derived.first_inbound_at < end:
            continue
        received += 1
        assert derived.first_inbound_modality is not None
        modality[KEYS[derived.first_inbound_modality]] += 1
        if derived.response_time_us is not None:
            responded += 1
            times.append(Fraction(derived.response_time_us, 1_000_000))
    messages = [m for t in threads for m in t.messages if start <= m.sent_at < end]

    def seconds(value: Fraction | None) -> int | None:
        return None if value is None else int(round_half_away(value))

    return {
        "responseRateStats": {
            "numConversationsRespondedTo": responded,
            "numConversationsReceived": received,
            "responseRate": float(round_half_away(Fraction(responded, received), 4))
            if received
            else None,
        },
        "responseTimeStats": {
            "responseTime": seconds(sum(times, Fraction(0)) / len(times)) if times else None,
            "medianResponseTime": seconds(nearest_rank(times, Fraction(1, 2))) if times else None,
            "p90ResponseTime": seconds(nearest_rank(times, Fraction(9, 10))) if times else None,
        },
        "volumeStats": {
            "numMessagesReceived": sum(m.direction == "received" for m in messages),
            "numMessagesSent": sum(m.direction == "sent" for m in messages),
            "totalConversations": sum(start <= t.start_at < end for t in threads),
        },
        "modalityStats": modality,
    }


def threads_of(organization: Organization) -> dict[int, Thread]:
    """Every conversation of the organization as the reference sees it, by primary key."""
    messages: dict[int, list[Msg]] = {}
    for pk, conversation, direction, modality, sent_at in (
        Message.objects.for_org(organization)
        .order_by("pk")
        .values_list("pk", "conversation_id", "direction", "modality", "sent_at")
    ):
        messages.setdefault(conversation, []).append(Msg(pk, direction, modality, sent_at))
    return {
        pk: Thread(start_at, tuple(messages.get(pk, [])))
        for pk, start_at in Conversation.objects.for_org(organization).values_list("pk", "start_at")
    }


def assert_derived_exact(organization: Organization) -> int:
    """Every conversation's stored derived columns equal what its messages give; answers how
    many conversations were checked."""
    threads = threads_of(organization)
    stored = {
        pk: Derived(last_activity_at, first_inbound_at, modality, response_time_us)
        for pk, last_activity_at, first_inbound_at, modality, response_time_us in (
            Conversation.objects.for_org(organization).values_list(
                "pk",
                "last_activity_at",
                "first_inbound_at",
                "first_inbound_modality",
                "response_time_us",
            )
        )
    }
    expected = {pk: derive(thread) for pk, thread in threads.items()}
    wrong = {pk: (stored[pk], expected[pk]) for pk in expected if stored[pk] != expected[pk]}
    assert not wrong, wrong
    return len(expected)


def assert_rollups_exact(organization: Organization) -> None:
    """The rollups the database's triggers kept equal the rollups recomputed from scratch
    (rows and counters that are zero left out)."""
    hours, bands = rollup.rebuild(
        Conversation.objects.for_org(organization), Message.objects.for_org(organization)
    )
    counters = [f.name for f in HourlyTotals._meta.concrete_fields][3:]  # after id, org, hour

    def nonzero(totals: dict[str, int]) -> dict[str, int]:
        return {name: value for name, value in totals.items() if value}

    kept = {
        (row.organization_id, row.hour): nonzero({name: getattr(row, name) for name in counters})
        for row in HourlyTotals.objects.for_org(organization)
    }
    assert {k: v for k, v in kept.items() if v} == {
        k: nonzero(v) for k, v in hours.items() if nonzero(v)
    }
    kept_bands = {
        (row.organization_id, row.day, row.band): row.conversations
        for row in DailyResponseBand.objects.for_org(organization)
        if row.conversations
    }
    assert kept_bands == bands
