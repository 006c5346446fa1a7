"""A kept connection is health-checked only when it sat idle (hyperrep/connections.py)."""

from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections as databases

from hyperrep import connections

# The wrapper itself: monkeypatch cannot undo an attribute set through the connection proxy.
connection: Any = databases["default"]

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The health checks Django runs on the connection (each answers "usable")."""
    connection.ensure_connection()
    made: list[bool] = []

    def is_usable() -> bool:
        made.append(True)
        return True

    monkeypatch.setattr(connection, "is_usable", is_usable)
    monkeypatch.setattr(connection, "health_check_enabled", True)
    return made


def next_request(clock: Clock, after: float) -> None:
    """The start of a request `after` seconds on: Django's close_old_connections asks for a
    check (health_check_done False), then this module's receiver; then the first query."""
    clock.now += after
    connection.health_check_done = False
    connections._trust_recent()
    connection.close_if_health_check_failed()


def test_a_connection_healthy_a_moment_ago_is_not_checked(
    checks: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(connections.time, "monotonic", clock)
    connections._healthy_at_end()  # a request ended well
    next_request(clock, after=0.2)
    assert checks == []
    connections._healthy_at_end()
    next_request(clock, after=connections.IDLE_SECONDS + 0.1)  # idle: checked as before
    assert checks == [True]


def test_a_connection_that_had_an_error_is_checked(
    checks: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(connections.time, "monotonic", clock)
    connections._healthy_at_end()
    monkeypatch.setattr(connection, "errors_occurred", True)
    clock.now += 5
    connections._healthy_at_end()  # not marked: its last request failed
    next_request(clock, after=0.1)
    assert checks == [True]


def test_a_new_connection_is_checked_only_by_django_as_before(checks: list[bool]) -> None:
    connection.healthy_at = -1e9  # never ended a request
    next_request(Clock(), after=0)
    assert checks == [True]


def test_every_request_runs_the_receivers() -> None:
    finished, _ = request_finished._live_receivers(None)  # (sync, async) receivers
    started, _ = request_started._live_receivers(None)
    assert connections._healthy_at_end in finished
    assert connections._trust_recent in started


@pytest.mark.skipif(
    not connection.settings_dict["OPTIONS"].get("server_side_binding"),
    reason="DATABASE_PREPARED_STATEMENTS is off (CI runs the suite on PostgreSQL both ways)",
)
def test_with_prepared_statements_a_repeated_query_is_prepared_once_on_the_server() -> None:
    from apps.organizations.models import Organization

    def prepared() -> set[str]:
        # The session's prepared statements: the suite's earlier tests leave theirs.
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    before = prepared()
    query = Organization.objects.filter(name__startswith="prepared-statement-test")  # no other
    for _ in range(6):  # psycopg prepares on the 6th run (prepare_threshold 5)
        assert not query.exists()
    new = [s for s in prepared() - before if '"organizations_organization"' in s]
    assert len(new) == 1
    assert '"name"::text LIKE $' in new[0]  # a parameter, not the value
