"""Budgets of requests, counted with the `limits` library's sliding-window counter (atomic in
Redis, a Lua script; O(1) per hit in memory).

The counters live in Redis when REDIS_URL is set, so every app server shares them, and in
this process's memory otherwise (the embedded default: one process is the whole server).
When Redis fails, requests are let through (fail open: a broken counter must not take the
API down): the failure is logged and counted, and Redis is left alone for a second; then one
request of the process tries it again while the others still go uncounted, so an outage
costs one request a second per process a timeout, not every request in flight.

The budgets: the API's per API key and organization (API_RATE_LIMIT), an inbound token's
(INBOUND_RATE_LIMIT), and the admin login's per client address (ADMIN_LOGIN_RATE_LIMIT).
"""

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis  # imported with this module, not by the first requests' threads at once
from django.conf import settings
from limits import RateLimitItem, parse, storage

from hyperrep import metrics

log = logging.getLogger("hyperrep.ratelimit")

# Redis answers on loopback or a LAN in well under a millisecond: a budget that cannot be
# read within these is treated as an outage, not waited for.
REDIS_TIMEOUT_SECONDS = 0.25
# After a failure, how long requests go uncounted before Redis is tried again.
REDIS_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    """One request counted against a budget of `limit` requests per `window` seconds."""

    allowed: bool
    limit: int
    window: int
    remaining: int
    reset: int  # seconds until the budget has room again (when not allowed: Retry-After)

    def headers(self) -> dict[str, str]:
        """The IETF ratelimit-headers fields (draft-ietf-httpapi-ratelimit-headers)."""
        return {
            "RateLimit-Policy": f'"default";q={self.limit};w={self.window}',
            "RateLimit": f'"default";r={self.remaining};t={self.reset}',
        }


@functools.cache
def rate(text: str) -> RateLimitItem | None:
    """`1200/minute` parsed once; None for "0" or "" (no limit)."""
    text = text.strip()
    return None if text in ("", "0") else parse(text)


class _MemoryCounters(storage.MemoryStorage):
    """limits' in-memory store, its expiry run inline at most every EXPIRE_SECONDS instead of
    by the timer thread it starts after each quiet spell: starting that thread was about
    200 us of a 210 us hit when requests came 10 ms apart (bench/README.md). Expired counts
    are never read either way (a window's keys carry its start); this only frees them."""

    EXPIRE_SECONDS = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.next_expiry = time.monotonic() + self.EXPIRE_SECONDS

    # Overrides MemoryStorage's private __schedule_expiry, which every write calls (limits is
    # pinned; tests/api/test_rate_limits.py fails if a hit starts a thread again).
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self.next_expiry:
            self.next_expiry = now + self.EXPIRE_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


# limits' acquire_sliding_window.lua (5.8), on the same keys, returning with its verdict the
# window's state after the hit (what its sliding_window.lua would read next): counts, and
# milliseconds to live of the previous and the current window.
ACQUIRE_SCRIPT = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    -- the current window has ended: it becomes the previous one
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = math.max(0, tonumber(redis.call('pttl', KEYS[1])))
local current_count = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = math.max(0, tonumber(redis.call('pttl', KEYS[2])))
if math.floor(previous_count * previous_ttl / expiry) + current_count + 1 > limit then
    return {0, previous_count, previous_ttl, current_count, current_ttl}
end
if redis.call('exists', KEYS[2]) == 1 then
    current_count = redis.call('incrby', KEYS[2], 1)
else
    redis.call('set', KEYS[2], 1, 'PX', expiry * 2)
    current_count, current_ttl = 1, tonumber(redis.call('pttl', KEYS[2]))
end
return {1, previous_count, previous_ttl, current_count, current_ttl}
"""

# A window's state: counts and seconds to live of the previous and the current window.
Window = tuple[int, float, int, float]


class _Limiter:
    def __init__(self, redis_url: str) -> None:
        # acquire(counter, limit, expiry): one hit and the window's state after it.
        self.acquire: Callable[[str, int, int], tuple[bool, Window]]
        if redis_url:
            self.redis = storage.RedisStorage(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.acquire_script = self.redis.get_connection().register_script(
                ACQUIRE_SCRIPT.encode()
            )
            self.acquire = self.acquire_in_redis
        else:
            self.memory = _MemoryCounters()
            self.acquire = self.acquire_in_memory
        # While Redis fails: requests go uncounted until down_until; then one request tries
        # it again (it moves down_until on first), and its success ends the outage.
        self.failing = False
        self.down_until = 0.0
        self.said = -math.inf  # when the outage was last logged
        self.lock = threading.Lock()

    def hit(self, item: RateLimitItem, scope: str, key: str) -> Verdict | None:
        if self.failing and not self.may_try_again():
            return None
        counter, expiry = item.key_for(scope, key), item.get_expiry()
        try:
            allowed, window = self.acquire(counter, item.amount, expiry)
        except redis.RedisError as error:
            self.failed(error)
            return None
        if self.failing:
            self.failing = False  # Redis answers again
        previous, previous_ttl, current, current_ttl = window
        # The sliding-window counter's estimate, as limits' SlidingWindowCounterRateLimiter
        # computes it (its get_window_stats, from the state read with the hit).
        used = previous * previous_ttl / expiry + current
        # (a whole number of steps left is a step away, not "now", where limits reads 0)
        reset = math.inf
        if previous:
            reset = previous_ttl % (expiry / previous) or expiry / previous
        if current:
            reset = min(reset, current_ttl % expiry or expiry)
        return Verdict(
            allowed=allowed,
            limit=item.amount,
            window=expiry,
            remaining=max(0, item.amount - math.floor(used)),
            # (at least 1: a window's first hit reads as resetting "now", it does not)
            reset=max(1, math.ceil(reset if reset != math.inf else 0)),
        )

    def acquire_in_memory(self, counter: str, limit: int, expiry: int) -> tuple[bool, Window]:
        allowed = self.memory.acquire_sliding_window_entry(counter, limit, expiry)
        return allowed, self.memory.get_sliding_window(counter, expiry)

    def acquire_in_redis(self, counter: str, limit: int, expiry: int) -> tuple[bool, Window]:
        """One round trip: the strategy's hit and its get_window_stats make two, and a
        pipeline of their two scripts makes two as well (redis-py asks SCRIPT EXISTS first)."""
        keys = [
            self.redis.prefixed_key(self.redis._previous_window_key(counter)),
            self.redis.prefixed_key(self.redis._current_window_key(counter)),
        ]
        acquired, previous, previous_ttl, current, current_ttl = self.acquire_script(
            keys, [limit, expiry]
        )
        return bool(acquired), (previous, previous_ttl / 1000, current, current_ttl / 1000)

    def may_try_again(self) -> bool:
        """During an outage: whether this request is the one that tries Redis again."""
        with self.lock:
            now = time.monotonic()
            if now < self.down_until:
                return False
            self.down_until = now + REDIS_RETRY_SECONDS
            return True

    def failed(self, error: redis.RedisError) -> None:
        metrics.count_rate_limiter_failure()
        with self.lock:
            now = time.monotonic()
            self.failing = True
            self.down_until = now + REDIS_RETRY_SECONDS
            first = now - self.said >= REDIS_RETRY_SECONDS
            if first:
                self.said = now
        if first:  # at most one line a second however many requests pass meanwhile
            log.warning("rate limits not counted: Redis failed: %s", error)


@functools.cache
def _limiter(redis_url: str) -> _Limiter:
    return _Limiter(redis_url)


def hit(scope: str, key: str, budget: str) -> Verdict | None:
    """Count one request of `key` against `budget` (`600/minute`); None when there is no
    limit, or when it could not be counted (Redis down: fail open)."""
    item = rate(budget)
    if item is None:
        return None
    return _limiter(settings.REDIS_URL).hit(item, scope, key)


def check() -> bool:
    """Whether the counters answer (always, in memory)."""
    if not settings.REDIS_URL:
        return True
    try:
        return bool(_limiter(settings.REDIS_URL).redis.check())
    except Exception:  # a failure of any kind is the answer "no"
        return False
