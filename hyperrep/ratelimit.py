"""Budgets of requests, with the `limits` library: a moving window per scope and key (an
inbound token), counted in this process's memory. (Shared counters in Redis, and the API's
budgets, come with REDIS_URL; until then each server process counts alone.)"""

import logging
import math
import time

from limits import parse, storage, strategies

log = logging.getLogger("hyperrep.ratelimit")
_limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())


def hit(scope: str, key: str, rate: str) -> int | None:
    """Count a request against `rate` (`600/minute`; "0" or empty: no limit); None when it
    is within the budget, else the seconds until the next one would be."""
    if not rate or rate.strip() == "0":
        return None
    item = parse(rate)
    if _limiter.hit(item, scope, key):
        return None
    reset = _limiter.get_window_stats(item, scope, key).reset_time
    return max(1, math.ceil(reset - time.time()))
