"""Persistent database connections: a health check only for a connection that sat idle.

With CONN_HEALTH_CHECKS (hyperrep/settings.py), Django sends `SELECT 1` before the first
query of every request on a reused connection: one round trip of the three a list makes
(the key with its organization, the page). A connection that ended a request healthy less
than IDLE_SECONDS ago is taken as healthy still; one idle longer (a server restarted or a
proxy that dropped it meanwhile is likeliest then) is checked as Django checks it, and
replaced when it fails. What is given up: a connection that the database drops within a
second of its last request fails its next request's first query (a 503, the answer of a
database that went away mid-request), and Django closes it when that request ends
(`errors_occurred`), so one request per connection, not a stream of them.
"""

import math
import time
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import connections

IDLE_SECONDS = 1.0


def _healthy_at_end(**kwargs: Any) -> None:
    # After Django's own close_old_connections (connected first, when django.db loads): a
    # connection still open has just been found usable, or had no error to check.
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.errors_occurred:
            connection.healthy_at = time.monotonic()  # type: ignore[attr-defined]


def _trust_recent(**kwargs: Any) -> None:
    # After Django's close_old_connections, which asks for a health check of each.
    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        if now - getattr(connection, "healthy_at", -math.inf) < IDLE_SECONDS:
            connection.health_check_done = True  # type: ignore[attr-defined]


def install() -> None:
    """For every request from now on (the outbox app's ready(), with the metrics)."""
    request_finished.connect(_healthy_at_end, dispatch_uid="hyperrep.connections.end")
    request_started.connect(_trust_recent, dispatch_uid="hyperrep.connections.start")
