"""A database that does not answer is 503 with Retry-After, from every layer, logged once a
second rather than a traceback a request; a query past its statement timeout is the
request's own JSON 500."""

import logging
from typing import Any

import pytest
from django.db import OperationalError, connection

from apps.organizations.models import ChannelKind
from hyperrep.api.exceptions import outage_log
from tests.factories import ChannelFactory
from tests.helpers import Api, detail


def refused(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: refused')


@pytest.fixture(autouse=True)
def _fresh_outage_log() -> None:
    outage_log.next_line = 0.0
    outage_log.unlogged = 0


def test_an_api_request_during_an_outage_is_503_logged_once_a_second(
    api: Api, org_path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("hyperrep.api.authentication.api_key_authenticate", refused)
    with caplog.at_level(logging.WARNING):
        answers = [api.get(f"{org_path}/contacts") for _ in range(20)]
    for answer in answers:
        assert answer.status_code == 503
        assert detail(answer) == "Service unavailable"
        assert answer["Retry-After"] == "2"
        assert answer["X-Request-ID"]
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1
    assert lines[0].exc_info is None  # no traceback
    assert "database unavailable" in lines[0].getMessage()


def test_a_route_outside_drf_answers_503_too(
    client: Any, organization: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = ChannelFactory.create(organization=organization, kind=ChannelKind.FORM)
    monkeypatch.setattr("apps.inbound.views.channel_for", refused)
    answer = client.post(f"/inbound/form/{channel.inbound_token}", {"email": "a@example.com"})
    assert answer.status_code == 503
    assert detail(answer) == "Service unavailable"


def test_web_processes_start_postgresql_connections_with_the_statement_timeout() -> None:
    from hyperrep.wsgi import bound_statements

    databases: dict[str, Any] = {
        "default": {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"options": "-c x=1"}},
        "embedded": {"ENGINE": "django.db.backends.sqlite3"},
    }
    bound_statements(databases, 30)
    assert databases["default"]["OPTIONS"] == {"options": "-c x=1 -c statement_timeout=30s"}
    assert "OPTIONS" not in databases["embedded"]
    bound_statements(databases, 0)  # none: nothing changes
    assert databases["default"]["OPTIONS"] == {"options": "-c x=1 -c statement_timeout=30s"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")
def test_a_query_past_the_statement_timeout_is_the_json_500(
    api: Api, org_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.contacts import views

    def slow(**kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '1s'")  # as a web process's would
            cursor.execute("SELECT pg_sleep(3)")
        raise AssertionError("the statement timeout did not end the query")

    monkeypatch.setattr(views.ContactViewSet, "selector", staticmethod(slow))
    api.client.raise_request_exception = False
    answer = api.get(f"{org_path}/contacts")
    assert answer.status_code == 500
    assert detail(answer) == "Internal server error"
    assert answer["X-Request-ID"]
