"""Budgets of requests, counted with the `limits` library's sliding-window counter (atomic in
Redis, a Lua script; O(1) per hit in memory).

The counters live in Redis when REDIS_URL is set, so every app server shares them, and in
this process's memory otherwise (the embedded default: one process is the whole server).
When Redis fails, requests are let through (fail open: a broken counter must not take the
API down): the failure is logged and counted, and Redis is left alone for a second before it
is tried again, so an outage costs no request more than one connection timeout.

The budgets: the API's per API key and organization (API_RATE_LIMIT), an inbound token's
(INBOUND_RATE_LIMIT), and the admin login's per client address (ADMIN_LOGIN_RATE_LIMIT).
"""

import functools
import logging
import math
import threading
import time
from dataclasses import dataclass

import redis  # noqa: F401 - imported with this module, not by the first requests' threads at once
from django.conf import settings
from limits import RateLimitItem, parse, storage, strategies
from limits.errors import StorageError

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


class _Limiter:
    def __init__(self, redis_url: str) -> None:
        backend: storage.Storage
        if redis_url:
            backend = storage.RedisStorage(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        else:
            backend = storage.MemoryStorage()
        self.strategy = strategies.SlidingWindowCounterRateLimiter(backend)
        self.down_until = 0.0
        self.lock = threading.Lock()

    def hit(self, item: RateLimitItem, scope: str, key: str) -> Verdict | None:
        if time.monotonic() < self.down_until:
            return None
        try:
            allowed = self.strategy.hit(item, scope, key)
            stats = self.strategy.get_window_stats(item, scope, key)
        except StorageError as error:
            self.failed(error)
            return None
        return Verdict(
            allowed=allowed,
            limit=item.amount,
            window=item.get_expiry(),
            remaining=stats.remaining,
            # (at least 1: a window's first hit reads as resetting "now", it does not)
            reset=max(1, math.ceil(stats.reset_time - time.time())),
        )

    def failed(self, error: StorageError) -> None:
        metrics.count_rate_limiter_failure()
        with self.lock:
            first = time.monotonic() >= self.down_until
            self.down_until = time.monotonic() + REDIS_RETRY_SECONDS
        if first:  # at most one line a second however many requests pass meanwhile
            log.warning("rate limits not counted: Redis failed: %s", error.storage_error)


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
        return bool(_limiter(settings.REDIS_URL).strategy.storage.check())
    except Exception:  # a failure of any kind is the answer "no"
        return False
