"""/readyz: 200 only when the database answers, every migration is applied, and Redis
answers when REDIS_URL is set; otherwise 503 with each reason. /healthz stays trivial."""

import socket
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from tests.api.test_rate_limits import TEST_REDIS, redis_answers


def closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return int(free.getsockname()[1])


def test_ready(client: Client, db: None) -> None:
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_a_database_that_does_not_answer(
    client: Client, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr("hyperrep.migration_state.MigrationExecutor", down)
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()) == (503, {"detail": "Database unavailable"})
    assert client.get("/healthz").status_code == 200  # alive all the same


@pytest.mark.django_db(transaction=True)
def test_unapplied_migrations_keep_it_out_of_traffic(client: Client) -> None:
    call_command("migrate", "idempotency", "zero", verbosity=0)
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"detail": "Migrations not applied: idempotency.0001_initial"}
    finally:
        call_command("migrate", "idempotency", verbosity=0)
    assert client.get("/readyz").status_code == 200


def test_redis_when_it_is_configured(client: Client, db: None, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()) == (503, {"detail": "Redis unavailable"})
    if redis_answers():
        settings.REDIS_URL = TEST_REDIS
        assert client.get("/readyz").status_code == 200


def test_every_reason_is_given(
    client: Client, db: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hyperrep.health.database_problem", lambda: "Database unavailable")
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    answer = client.get("/readyz")
    assert answer.json() == {"detail": "Database unavailable; Redis unavailable"}


def test_the_probes_and_the_metrics_answer_whatever_the_host(client: Client, db: None) -> None:
    """A kubelet or a load balancer names the address it probes (a pod's IP), not a host in
    ALLOWED_HOSTS; every other route still refuses a host it does not serve."""
    pod = {"Host": "10.1.2.3:8000"}
    for path in ("/healthz", "/healthz/", "/readyz", "/readyz/"):
        answer = client.get(path, headers=pod)
        assert (answer.status_code, answer.json()["status"]) == (200, "ok"), path
        assert answer["X-Request-ID"]
        assert answer["Content-Length"] == str(len(answer.content))  # not sent chunked
    scraped = client.get("/metrics", headers=pod)  # a scraper reaching a pod by its address
    assert scraped.status_code == 200
    assert b"hyperrep_http_requests_total" in scraped.content
    refused = client.get("/api/v2/organizations", headers=pod)
    assert (refused.status_code, refused.json()) == (400, {"detail": "Bad request"})
    assert client.post("/healthz", headers=pod).status_code == 405
