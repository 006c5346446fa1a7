"""Idempotency keys on POSTs (API.md §17): a repeat gets the kept answer, the key is bound
to its request, its API key and its organization, a 5xx is not kept, and two requests
racing with one key run the write once."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from apps.contacts.models import Contact
from apps.idempotency.models import IdempotentRequest
from apps.idempotency.services import fingerprint, prune
from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from tests.factories import OrganizationFactory
from tests.helpers import Api, detail


def post(api: Api, path: str, body: Any, key: str | None = "retry-1", **extra: Any) -> Any:
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return api.post(path, body, **extra)


def contacts(organization: Organization) -> int:
    return Contact.objects.for_org(organization).count()


def test_a_repeat_gets_the_kept_answer_and_writes_nothing(
    api: Api, org_path: str, organization: Organization
) -> None:
    first = post(api, f"{org_path}/contacts", {"name": "Ann Lee"})
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    again = post(api, f"{org_path}/contacts", {"name": "Ann Lee"})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    slash = post(api, f"{org_path}/contacts/", {"name": "Ann Lee"})  # the same route
    assert slash["Idempotent-Replayed"] == "true"
    assert "RateLimit" in again  # a replay is counted like any answer
    assert contacts(organization) == 1


def test_without_a_key_every_post_runs(api: Api, org_path: str, organization: Any) -> None:
    for _ in range(2):
        assert post(api, f"{org_path}/contacts", {"name": "Ann"}, key=None).status_code == 200
    assert contacts(organization) == 2


@pytest.mark.parametrize(
    ("path", "body"),
    [("/contacts", {"name": "Someone else"}), ("/companies", {"name": "Ann Lee"})],
)
def test_the_key_with_another_request_is_422(
    api: Api, org_path: str, organization: Organization, path: str, body: dict
) -> None:
    assert post(api, f"{org_path}/contacts", {"name": "Ann Lee"}).status_code == 200
    other = post(api, f"{org_path}{path}", body)
    assert other.status_code == 422
    assert detail(other) == "Idempotency-Key was used with a different request"
    assert contacts(organization) == 1


@pytest.mark.parametrize(
    "key", ["", " ", "x" * 256, "caf\u00e9", "tab\there", "nul\x00", "line\nbreak", "x" * 10_000]
)
def test_a_key_that_is_not_1_to_255_printable_ascii_is_400(
    api: Api, org_path: str, organization: Organization, key: str
) -> None:
    response = post(api, f"{org_path}/contacts", {"name": "Ann"}, key=key)
    assert response.status_code == 400
    assert detail(response) == "Invalid Idempotency-Key"
    assert contacts(organization) == 0


def test_the_longest_and_oddest_valid_keys_work(api: Api, org_path: str) -> None:
    for key in ["k" * 255, "a b~!@#$%^&*()", "7"]:
        assert post(api, f"{org_path}/contacts", {"name": key[:50]}, key=key).status_code == 200


def test_a_refusal_is_kept_too(api: Api, org_path: str, organization: Organization) -> None:
    first = post(api, f"{org_path}/contacts", {"name": ""})
    assert first.status_code == 422
    again = post(api, f"{org_path}/contacts", {"name": ""})
    assert (again.status_code, again.content) == (422, first.content)
    assert again["Idempotent-Replayed"] == "true"


def test_a_server_error_is_not_kept(
    api: Api, org_path: str, organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.contacts import views

    real = views.contact_create

    def crash(**kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(views, "contact_create", crash)
    api.client.raise_request_exception = False
    assert post(api, f"{org_path}/contacts", {"name": "Ann"}).status_code == 500
    assert not IdempotentRequest.objects.for_org(organization).exists()
    monkeypatch.setattr(views, "contact_create", real)
    retried = post(api, f"{org_path}/contacts", {"name": "Ann"})
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried


def held(organization: Organization, *, fingerprint: str, seconds: float) -> IdempotentRequest:
    """The mark of a request still running with the key "retry-1", held `seconds` more
    (past its time when negative)."""
    return IdempotentRequest.objects.create(
        organization=organization,
        api_key=ApiKey.objects.get(),
        key="retry-1",
        fingerprint=fingerprint,
        locked_until=timezone.now() + timedelta(seconds=seconds),
    )


def test_a_repeat_while_the_first_runs_is_409(
    api: Api, org_path: str, organization: Organization
) -> None:
    running = held(organization, fingerprint="0" * 64, seconds=30)
    response = post(api, f"{org_path}/contacts", {"name": "Ann"})
    assert response.status_code == 422  # another request's key: different wins over running
    assert detail(response) == "Idempotency-Key was used with a different request"
    running.fingerprint = fingerprint("POST", f"/api/v2{org_path}/contacts", "", b'{"name":"Ann"}')
    running.save()
    response = post(api, f"{org_path}/contacts", {"name": "Ann"})
    assert response.status_code == 409
    assert detail(response) == "A request with this Idempotency-Key is in progress"
    assert contacts(organization) == 0


def test_the_mark_of_a_request_that_died_expires(
    api: Api, org_path: str, organization: Organization
) -> None:
    held(organization, fingerprint="0" * 64, seconds=-1)
    assert post(api, f"{org_path}/contacts", {"name": "Ann"}).status_code == 200
    assert contacts(organization) == 1


def test_the_key_is_bound_to_its_api_key_and_organization(
    make_key: Callable[..., str], organization: Organization
) -> None:
    second = OrganizationFactory.create()
    first_key, other_key = Api(make_key(organization, second)), Api(make_key(organization))
    body = {"name": "Ann"}
    for api, org in [(first_key, organization), (other_key, organization), (first_key, second)]:
        response = post(api, f"/organizations/{org.public_id}/contacts", body)
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response
    assert contacts(organization) == 2
    assert contacts(second) == 1


def test_answers_are_kept_24_hours_then_pruned(
    api: Api, org_path: str, organization: Organization
) -> None:
    assert post(api, f"{org_path}/contacts", {"name": "Ann"}).status_code == 200
    kept = IdempotentRequest.objects.for_org(organization)
    kept.update(created_at=timezone.now() - timedelta(hours=23))
    assert post(api, f"{org_path}/contacts", {"name": "Ann"})["Idempotent-Replayed"] == "true"
    kept.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    # Not pruned yet: past its 24 hours the key is free all the same, for any request.
    fresh = post(api, f"{org_path}/contacts", {"name": "Bea"})
    assert fresh.status_code == 200
    assert "Idempotent-Replayed" not in fresh
    assert contacts(organization) == 2
    kept.update(created_at=timezone.now() - timedelta(hours=25))
    prune()
    assert not kept.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite's in-memory test database has no second writer",
)
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_write_once(
    api_key: str, organization: Organization
) -> None:
    path = f"/organizations/{organization.public_id}/contacts"
    start = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        try:
            start.wait(timeout=10)
            statuses.append(post(Api(api_key), path, {"name": "Ann"}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert contacts(organization) == 1
    assert sorted(set(statuses)) in ([200], [200, 409])


def test_with_a_key_the_write_and_its_answer_are_one_transaction(
    api: Api, org_path: str, organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that fails after its write was made (here: rendering the answer) leaves
    nothing written when it had a key, so the retry the client makes writes once."""
    from apps.contacts.views import ContactViewSet

    def fail(self: Any, instance: Any) -> Any:
        raise RuntimeError("the answer could not be rendered")

    monkeypatch.setattr(ContactViewSet, "respond_with", fail)
    api.client.raise_request_exception = False
    assert post(api, f"{org_path}/contacts", {"name": "Ann"}).status_code == 500
    assert contacts(organization) == 0
    assert not IdempotentRequest.objects.for_org(organization).exists()
    monkeypatch.undo()
    assert post(api, f"{org_path}/contacts", {"name": "Ann"}).status_code == 200
    assert contacts(organization) == 1


def test_a_kept_answer_is_stored_encrypted(
    api: Api, org_path: str, organization: Organization
) -> None:
    """A webhook endpoint's signing secret is shown once, in its create answer: the kept copy
    of that answer must not hold it in the clear (in the database, and so in its backups)."""
    created = post(
        api,
        f"{org_path}/webhook-endpoints",
        {"url": "https://93.184.216.34/in", "events": ["*"]},
        key="endpoint-1",
    )
    assert created.status_code == 200
    secret = created.json()["secret"].encode()
    stored = bytes(IdempotentRequest.objects.for_org(organization).get(key="endpoint-1").body)
    assert secret not in stored
    assert b"93.184.216.34" not in stored
    again = post(
        api,
        f"{org_path}/webhook-endpoints",
        {"url": "https://93.184.216.34/in", "events": ["*"]},
        key="endpoint-1",
    )
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == created.content
