"""The five analytics endpoints against hand-computed figures (docs/analytics.md)."""

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from apps.analytics.selectors import divide_rounded, nearest_rank
from apps.conversations.models import Conversation
from apps.organizations.models import Organization
from tests.analytics.reference import assert_derived_exact
from tests.factories import ConversationFactory, MessageFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

BASE = "/analytics/conversations"
BREAKOUTS = {
    "/response-rate": "responseRateStats",
    "/response-time": "responseTimeStats",
    "/volume": "volumeStats",
    "/modality": "modalityStats",
}
PATHS = ["", *BREAKOUTS]
MARCH = {"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"}


def at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value + "Z")


def thread(organization: Organization, *messages: tuple[str, str, str | datetime]) -> Conversation:
    """A conversation started at its first message; messages are (direction, modality,
    sent_at) in the order the server records them."""
    conversation = ConversationFactory.create(
        organization=organization, start_at=min(at(sent_at) for _d, _m, sent_at in messages)
    )
    for direction, modality, sent_at in messages:
        MessageFactory.create(
            conversation=conversation, direction=direction, modality=modality, sent_at=at(sent_at)
        )
    return conversation


R, S = "received", "sent"


@pytest.fixture
def march(organization: Organization, other_organization: Organization) -> None:
    """Eleven conversations around March 2026; the figures in test_march are worked out by
    hand from the comments."""
    # c1: answered after an hour.                                         responded, 3600 s
    thread(organization, (R, "email", "2026-03-02 10:00"), (S, "email", "2026-03-02 11:00"))
    # c2: a sent message before the first inbound does not answer it.   responded, 30 s
    thread(
        organization,
        (S, "text", "2026-03-03 09:00"),
        (R, "text", "2026-03-03 10:00"),
        (S, "text", "2026-03-03 10:00:30"),
    )
    # c3: a response at the very same time counts.                       responded, 0 s
    thread(organization, (R, "call", "2026-03-04 12:00"), (S, "call", "2026-03-04 12:00"))
    # c4: first inbound exactly at start_date is in the window.          responded, 2.5 s
    thread(
        organization,
        (R, "live_chat", "2026-03-01 00:00"),
        (S, "live_chat", "2026-03-01 00:00:02.5"),
    )
    # c5: first inbound exactly at end_date is not (nor are its messages, nor its start).
    thread(organization, (R, "form", "2026-04-01 00:00"), (S, "form", "2026-04-01 00:05"))
    # c6: answered after end_date: still responded.                      responded, 90000 s
    thread(organization, (R, "email", "2026-03-31 23:00"), (S, "email", "2026-04-02 00:00"))
    # c7: never answered.
    thread(organization, (R, "text", "2026-03-10 08:00"), (R, "text", "2026-03-10 09:00"))
    # c8: no inbound message at all: not received, but started in March.
    thread(organization, (S, "email", "2026-03-12 10:00"))
    # c9: first inbound in February: not received in March; its March messages are volume.
    thread(
        organization,
        (R, "form", "2026-02-27 10:00"),
        (S, "email", "2026-02-27 11:00"),
        (R, "email", "2026-03-05 10:00"),
        (S, "email", "2026-03-05 10:10"),
    )
    # c10: two inbound at the same time: the first recorded (the call) is the first inbound.
    thread(
        organization,
        (R, "call", "2026-03-20 15:00"),
        (R, "email", "2026-03-20 15:00"),
        (S, "email", "2026-03-20 15:02"),
    )  #                                                                  responded, 120 s
    # c11: a web form, never answered.
    thread(organization, (R, "form", "2026-03-21 10:00"))
    # Another organization's busy March never shows.
    for day in range(1, 29):
        thread(
            other_organization,
            (R, "form", f"2026-03-{day:02} 09:00"),
            (S, "text", f"2026-03-{day:02} 09:01"),
        )


def test_march(api: Api, org_path: str, organization: Organization, march: None) -> None:
    response = api.get(org_path + BASE, MARCH)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "responseRateStats": {
            # c1, c2, c3, c4, c6, c7, c10, c11 received; c7 and c11 unanswered
            "numConversationsRespondedTo": 6,
            "numConversationsReceived": 8,
            "responseRate": 0.75,
        },
        "responseTimeStats": {
            # (3600 + 30 + 0 + 2.5 + 90000 + 120) / 6 = 15625.42
            "responseTime": 15625,
            # sorted 0, 2.5, 30, 120, 3600, 90000: ranks ceil(3) = 3 and ceil(5.4) = 6
            "medianResponseTime": 30,
            "p90ResponseTime": 90000,
        },
        "volumeStats": {
            # received: c1 c2 c3 c4 c6 1 each, c7 2, c9 1, c10 2, c11 1
            "numMessagesReceived": 11,
            # sent: c1 1, c2 2, c3 1, c4 1, c8 1, c9 1, c10 1
            "numMessagesSent": 8,
            # all but c5 (April) and c9 (February)
            "totalConversations": 9,
        },
        "modalityStats": {
            "textMessages": 2,  # c2, c7
            "calls": 2,  # c3, c10
            "emails": 2,  # c1, c6
            "liveChats": 1,  # c4
            "formRequests": 1,  # c11
        },
    }
    assert_derived_exact(organization)


@pytest.mark.parametrize(("path", "key"), BREAKOUTS.items())
def test_each_breakout_is_its_block_of_the_combined_answer(
    api: Api, org_path: str, march: None, path: str, key: str
) -> None:
    combined = api.get(org_path + BASE, MARCH).json()
    response = api.get(org_path + BASE + path, MARCH)
    assert response.status_code == 200
    assert response.json() == combined[key]
    assert api.get(org_path + BASE + path + "/", MARCH).json() == combined[key]


def test_no_conversations_in_the_window_gives_nulls(api: Api, org_path: str, march: None) -> None:
    window = {"start_date": "2025-01-01", "end_date": "2025-02-01"}
    assert api.get(org_path + BASE, window).json() == {
        "responseRateStats": {
            "numConversationsRespondedTo": 0,
            "numConversationsReceived": 0,
            "responseRate": None,
        },
        "responseTimeStats": {
            "responseTime": None,
            "medianResponseTime": None,
            "p90ResponseTime": None,
        },
        "volumeStats": {"numMessagesReceived": 0, "numMessagesSent": 0, "totalConversations": 0},
        "modalityStats": {
            "textMessages": 0,
            "calls": 0,
            "emails": 0,
            "liveChats": 0,
            "formRequests": 0,
        },
    }


def test_an_empty_window_is_allowed(api: Api, org_path: str, march: None) -> None:
    instant = "2026-03-02T10:00:00Z"  # c1's first inbound: start inclusive, end exclusive
    body = api.get(org_path + BASE, {"start_date": instant, "end_date": instant}).json()
    assert body["responseRateStats"]["numConversationsReceived"] == 0
    assert body["volumeStats"]["numMessagesReceived"] == 0


def test_received_but_none_answered(api: Api, org_path: str, organization: Organization) -> None:
    thread(organization, (R, "text", "2026-03-10 08:00"))
    body = api.get(org_path + BASE, MARCH).json()
    assert body["responseRateStats"] == {
        "numConversationsRespondedTo": 0,
        "numConversationsReceived": 1,
        "responseRate": 0.0,
    }
    assert body["responseTimeStats"] == {
        "responseTime": None,
        "medianResponseTime": None,
        "p90ResponseTime": None,
    }


def answered_after(organization: Organization, *waits: float) -> None:
    for number, wait in enumerate(waits):
        first = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=number)
        thread(
            organization,
            (R, "email", first),
            (S, "email", first + timedelta(seconds=wait)),
        )


@pytest.mark.parametrize(
    ("waits", "mean", "median", "p90"),
    [
        ((2, 3), 3, 2, 3),  # mean 2.5 rounds away from zero; ranks ceil(1) and ceil(1.8)
        ((1.5,), 2, 2, 2),  # a percentile is rounded too
        ((0.499999,), 0, 0, 0),
        ((0.5,), 1, 1, 1),
        ((10, 20, 30, 40), 25, 20, 40),  # the median is a value (rank 2), not an average
        (tuple(range(1, 11)), 6, 5, 9),  # 5.5 rounds up; ranks 5 and 9
        (tuple(range(1, 12)), 6, 6, 10),  # ranks ceil(5.5) = 6 and ceil(9.9) = 10
    ],
)
def test_response_time_rounding_and_ranks(
    api: Api,
    org_path: str,
    organization: Organization,
    waits: tuple[float, ...],
    mean: int,
    median: int,
    p90: int,
) -> None:
    answered_after(organization, *waits)
    assert api.get(org_path + BASE + "/response-time", MARCH).json() == {
        "responseTime": mean,
        "medianResponseTime": median,
        "p90ResponseTime": p90,
    }


def test_response_rate_has_four_places(api: Api, org_path: str, organization: Organization) -> None:
    answered_after(organization, 60)
    thread(organization, (R, "text", "2026-03-20 08:00"))
    thread(organization, (R, "text", "2026-03-21 08:00"))
    rate = api.get(org_path + BASE + "/response-rate", MARCH).json()
    assert rate == {
        "numConversationsRespondedTo": 1,
        "numConversationsReceived": 3,
        "responseRate": 0.3333,
    }


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 2, 1),
        (3, 2, 2),
        (5, 2, 3),
        (1, 3, 0),
        (2, 3, 1),
        (0, 7, 0),
        (10**30 + 1, 2, 5 * 10**29 + 1),
    ],
)
def test_division_rounds_half_away_from_zero(
    numerator: int, denominator: int, expected: int
) -> None:
    assert divide_rounded(numerator, denominator) == expected


@pytest.mark.parametrize("percent", [50, 90])
def test_nearest_rank_is_the_exact_ceiling(percent: int) -> None:
    for count in range(1, 2001):
        assert nearest_rank(count, percent) == math.ceil(Fraction(percent * count, 100))


def test_a_rate_of_one_in_twenty_thousand_rounds_up() -> None:
    # 0.00005 -> 0.0001, as docs/analytics.md's own example
    assert divide_rounded(1 * 10_000, 20_000) / 10_000 == 0.0001


# -- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 422, "start_date is required; end_date is required"),
        ({"end_date": "2026-04-01"}, 422, "start_date is required"),
        ({"start_date": "2026-03-01"}, 422, "end_date is required"),
        ({"start_date": "", "end_date": "2026-04-01"}, 422, "start_date is required"),
        (
            {"start_date": "yesterday", "end_date": "2026-04-01"},
            422,
            "start_date: Enter an ISO 8601 date or datetime, e.g. 2026-03-12 or "
            "2026-03-12T00:32:13Z.",
        ),
        (
            {"start_date": "2026-03-01", "end_date": "2026-02-30"},
            422,
            "end_date: Enter an ISO 8601 date or datetime, e.g. 2026-03-12 or "
            "2026-03-12T00:32:13Z.",
        ),
        (
            {"start_date": "2026-04-01", "end_date": "2026-03-01"},
            400,
            "start_date must be less than or equal to end_date",
        ),
        (
            {"start_date": "2026-03-01", "end_date": "2999-01-01"},
            400,
            "start_date and end_date cannot be in the future",
        ),
        (
            {"start_date": "2999-01-01", "end_date": "2999-01-02"},
            400,
            "start_date and end_date cannot be in the future",
        ),
    ],
)
def test_window_rules(
    api: Api, org_path: str, path: str, params: dict[str, str], status: int, message: str
) -> None:
    response = api.get(org_path + BASE + path, params)
    assert response.status_code == status
    assert detail(response) == message


def test_the_clock_bounds_the_window(
    api: Api, org_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    monkeypatch.setattr("apps.analytics.filters.timezone.now", lambda: now)
    window = {"start_date": "2026-05-01T11:00:00Z", "end_date": "2026-05-01T12:00:00Z"}
    assert api.get(org_path + BASE, window).status_code == 200  # up to now exactly
    window["end_date"] = "2026-05-01T12:00:00.000001Z"
    assert detail(api.get(org_path + BASE, window)) == (
        "start_date and end_date cannot be in the future"
    )
    # An offset is the same instant: 13:00+01:00 is 12:00Z.
    window["end_date"] = "2026-05-01T13:00:00+01:00"
    assert api.get(org_path + BASE, window).status_code == 200


def test_a_date_given_twice_or_with_nul_is_refused(api: Api, org_path: str) -> None:
    query = "start_date=2026-03-01&start_date=2026-03-02&end_date=2026-04-01"
    response = api.client.get(f"/api/v2{org_path}{BASE}?{query}", headers={"X-API-KEY": api.key})
    assert response.status_code == 422
    assert detail(response) == "start_date: Give this parameter once."
    response = api.get(org_path + BASE, {"start_date": "2026-03-01\x00", "end_date": "2026-04-01"})
    assert response.status_code == 400


def test_unknown_parameters_are_422(api: Api, org_path: str, march: None) -> None:
    for name in ("limit", "start_dat", "cursor"):
        response = api.get(org_path + BASE, {**MARCH, name: "2026-03-01"})
        assert response.status_code == 422
        assert detail(response) == f"{name}: Unknown query parameter."


def test_answers_only_with_a_key_of_the_organization(
    api: Api, org_path: str, other_organization: Organization
) -> None:
    assert detail(api.get(org_path + BASE, MARCH, key=None)) == "Missing API Key"
    response = api.get(f"/organizations/{other_organization.public_id}{BASE}", MARCH)
    assert response.status_code == 404
    assert detail(response) == "Organization not found"


def test_a_post_is_not_allowed(api: Api, org_path: str) -> None:
    response: Any = api.post(org_path + BASE, {})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"
