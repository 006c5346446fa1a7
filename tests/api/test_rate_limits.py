"""Rate limits (API.md §17): a budget per API key and organization, its headers on every
answer, the 429 past it; the counters in memory, or in Redis shared by every server, and
the API serving on when Redis fails."""

import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from apps.organizations.models import Organization
from hyperrep import ratelimit
from tests.factories import OrganizationFactory
from tests.helpers import Api, detail

POLICY = re.compile(r'"default";q=(\d+);w=(\d+)')
STATE = re.compile(r'"default";r=(\d+);t=(\d+)')
TEST_REDIS = "redis://127.0.0.1:6379/15"


def remaining(response: Any) -> int:
    match = STATE.fullmatch(response["RateLimit"])
    assert match, response["RateLimit"]
    return int(match[1])


@pytest.fixture
def budget(settings: Any) -> Callable[[str], None]:
    def set_budget(rate: str) -> None:
        settings.API_RATE_LIMIT = rate

    return set_budget


def test_every_answer_carries_the_policy_and_what_is_left(api: Api, org_path: str) -> None:
    first = api.get(f"{org_path}/contacts")
    assert first.status_code == 200
    assert POLICY.fullmatch(first["RateLimit-Policy"]).groups() == ("1200", "60")  # type: ignore[union-attr]
    second = api.get(f"{org_path}/contacts", {"limit": "x"})  # a refusal counts too
    assert second.status_code == 422
    assert remaining(second) == remaining(first) - 1
    assert "Retry-After" not in first


def test_past_the_budget_the_answer_is_429_with_retry_after(
    api: Api, org_path: str, budget: Callable[[str], None]
) -> None:
    budget("3/minute")
    answers = [api.get(f"{org_path}/contacts") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert detail(limited) == "Rate limit exceeded"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert remaining(limited) == 0
    assert limited["X-Request-ID"]


def test_each_organization_of_a_key_has_its_own_budget(
    make_key: Callable[..., str], organization: Organization, budget: Callable[[str], None]
) -> None:
    budget("2/minute")
    second = OrganizationFactory.create()
    api = Api(make_key(organization, second))
    for _ in range(2):
        assert api.get(f"/organizations/{organization.public_id}/contacts").status_code == 200
    assert api.get(f"/organizations/{organization.public_id}/contacts").status_code == 429
    assert api.get(f"/organizations/{second.public_id}/contacts").status_code == 200
    # /organizations names none: the key's own budget, apart from either organization's.
    assert api.get("/organizations").status_code == 200


def test_keys_do_not_share_a_budget(
    make_key: Callable[..., str], organization: Organization, budget: Callable[[str], None]
) -> None:
    budget("1/minute")
    path = f"/organizations/{organization.public_id}/contacts"
    first, second = Api(make_key(organization)), Api(make_key(organization))
    assert first.get(path).status_code == 200
    assert first.get(path).status_code == 429
    assert second.get(path).status_code == 200


def test_an_unreachable_organization_counts_against_the_key_itself(
    api: Api, org_path: str, budget: Callable[[str], None]
) -> None:
    """Inventing organization ids gives no fresh budgets."""
    budget("2/minute")
    assert api.get("/organizations/org_3hG5kq2mN8pQ4rS6tU7vW9/contacts").status_code == 404
    assert api.get("/organizations/org_4hG5kq2mN8pQ4rS6tU7vW9/contacts").status_code == 404
    assert api.get("/organizations/org_5hG5kq2mN8pQ4rS6tU7vW9/contacts").status_code == 429
    assert api.get(f"{org_path}/contacts").status_code == 200  # the organization's own


def test_without_a_valid_key_the_client_address_is_counted(
    org_path: str, budget: Callable[[str], None]
) -> None:
    budget("2/minute")
    guesses = [Api(f"hrk_guess{n:03}_{'x' * 32}").get(f"{org_path}/contacts") for n in range(3)]
    assert [g.status_code for g in guesses] == [403, 403, 429]
    assert "RateLimit" in guesses[0]


def test_zero_turns_limiting_off(api: Api, org_path: str, budget: Callable[[str], None]) -> None:
    budget("0")
    response = api.get(f"{org_path}/contacts")
    assert response.status_code == 200
    assert "RateLimit" not in response


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_budget(settings: Any) -> Iterator[None]:
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (the shared counters are tested where one runs)")
    import redis

    client = redis.Redis.from_url(TEST_REDIS)
    client.flushdb()
    settings.REDIS_URL = TEST_REDIS
    yield
    client.flushdb()


@pytest.mark.usefixtures("redis_budget")
def test_with_redis_every_server_shares_the_counts(
    api: Api, org_path: str, budget: Callable[[str], None]
) -> None:
    budget("2/minute")
    assert api.get(f"{org_path}/contacts").status_code == 200
    ratelimit._limiter.cache_clear()  # another server process: nothing counted in memory
    assert api.get(f"{org_path}/contacts").status_code == 200
    assert api.get(f"{org_path}/contacts").status_code == 429
    assert ratelimit.check() is True


def test_when_redis_fails_the_api_serves_uncounted_and_says_so_once(
    api: Api, org_path: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    failures = REGISTRY.get_sample_value("hyperrep_rate_limiter_failures_total") or 0
    with caplog.at_level(logging.WARNING, logger="hyperrep.ratelimit"):
        answers = [api.get(f"{org_path}/contacts") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert all("RateLimit" not in a for a in answers)
    assert len([r for r in caplog.records if r.name == "hyperrep.ratelimit"]) == 1
    after = REGISTRY.get_sample_value("hyperrep_rate_limiter_failures_total") or 0
    assert after == failures + 1  # then left alone for a second, not tried per request
    assert ratelimit.check() is False


def test_an_unknown_path_under_the_api_is_counted_too(
    api: Api, org_path: str, budget: Callable[[str], None]
) -> None:
    budget("2/minute")
    for path in ["/nope", f"{org_path}/nope/deeper"]:
        missing = api.get(path)
        assert (missing.status_code, detail(missing)) == (404, "Not found")
        assert "RateLimit" in missing
    assert api.get("/nope").status_code == 429  # the key's own budget
    keyless = Api(None).get("/nope")  # no key: still the 404, counted by address
    assert (keyless.status_code, detail(keyless)) == (404, "Not found")
    assert "RateLimit" in keyless
    root = Client().get("/api/v2")  # the API's root itself, without its slash
    assert (root.status_code, detail(root)) == (404, "Not found")
    assert "RateLimit" in root


def test_in_memory_a_hit_starts_no_thread() -> None:
    counters = ratelimit._MemoryCounters()
    counters.timer.join()  # the one limits' constructor starts, done after 10 ms
    for n in range(3):
        counters.acquire_sliding_window_entry(f"key-{n}", 5, 60)
        assert not any(isinstance(t, threading.Timer) for t in threading.enumerate())


def test_in_memory_ended_windows_are_freed_by_a_later_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    counters = ratelimit._MemoryCounters()
    counters.acquire_sliding_window_entry("early", 5, 1)
    assert counters.storage
    later = time.time() + 5  # both of its windows (1 s each) have ended
    monkeypatch.setattr(time, "time", lambda: later)
    counters.next_expiry = 0  # the expiry is due
    counters.acquire_sliding_window_entry("late", 5, 1)
    assert all("late" in key for key in counters.storage)


@pytest.mark.usefixtures("redis_budget")
def test_in_redis_one_trip_agrees_with_the_limits_strategy() -> None:
    """The one-round-trip script against limits' own hit and get_window_stats, on twin
    counters through the same history: hits, a window ending, the budget running out."""
    import redis
    from limits import parse, strategies

    item = parse("4/minute")
    limiter = ratelimit._limiter(TEST_REDIS)
    reference = strategies.SlidingWindowCounterRateLimiter(limiter.redis)
    client = redis.Redis.from_url(TEST_REDIS)

    def end_window(key: str) -> None:  # the current window has 20 s of its 60 left
        client.pexpire(f"LIMITS:{{{item.key_for('api-key', key)}}}", 80_000)

    for step in ["hit", "hit", "hit", "end", "hit", "hit", "hit", "hit"]:
        if step == "end":
            end_window("ours")
            end_window("theirs")
            continue
        ours = limiter.hit(item, "api-key", "ours")
        assert ours is not None
        allowed = reference.hit(item, "api-key", "theirs")
        stats = reference.get_window_stats(item, "api-key", "theirs")
        assert (ours.allowed, ours.remaining) == (allowed, stats.remaining), step
        theirs = max(1, math.ceil(stats.reset_time - time.time()))
        # (a millisecond apart, limits' reset steps from 60 to 0 at a window's very start)
        assert abs(ours.reset - theirs) % 59 <= 1, (ours.reset, theirs)


def test_during_an_outage_one_request_at_a_time_tries_redis_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second after a failure, the first request to come tries Redis again; requests
    meanwhile (threads in flight at that moment too) go uncounted without waiting on it."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    limiter = ratelimit._limiter(f"redis://127.0.0.1:{port}/0")
    item = ratelimit.rate("5/minute")
    assert item is not None
    tries: list[float] = []
    real = limiter.acquire

    def counted(*args: Any) -> Any:
        tries.append(time.monotonic())
        return real(*args)

    monkeypatch.setattr(limiter, "acquire", counted)
    assert limiter.hit(item, "api", "k") is None  # the failure
    assert limiter.hit(item, "api", "k") is None  # within the second: not tried
    assert len(tries) == 1
    limiter.down_until = time.monotonic()  # the second is over
    ends = [threading.Thread(target=limiter.hit, args=(item, "api", "k")) for _ in range(8)]
    for thread in ends:
        thread.start()
    for thread in ends:
        thread.join()
    assert len(tries) == 2  # one of the eight tried; it failed, so the next second begins
    assert limiter.failing
    monkeypatch.setattr(limiter, "acquire", lambda *args: (True, (0, 0.0, 1, 120.0)))
    limiter.down_until = time.monotonic()  # and Redis is back: the next try ends the outage
    assert limiter.hit(item, "api", "k") is not None
    assert not limiter.failing
    assert limiter.hit(item, "api", "k") is not None  # counted again, every request
