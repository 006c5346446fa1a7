"""Events sent to a receiver on loopback: signed, exactly the subscribed ones, retried on the
schedule, failed after the last attempt, disabling a failing endpoint; the SSRF policy at
send time; the deliveries list and its retry route."""

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.contacts.services import contact_create
from apps.organizations.models import Organization
from apps.webhooks import handlers
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from hyperrep.outbox.worker import Worker
from tests.helpers import Api
from tests.webhooks.receiver import Receiver, verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_HTTP = settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def register(api: Api, org_path: str, url: str, events: list[str]) -> dict[str, Any]:
    response = api.post(f"{org_path}/webhook-endpoints", {"url": url, "events": events})
    assert response.status_code == 200, response.json()
    return dict(response.json())


def work() -> None:
    Worker(idle_seconds=0).run(until_idle=True)


def test_the_signed_event_arrives_with_the_apis_rendering(
    api: Api, org_path: str, receiver: Receiver, organization: Organization
) -> None:
    endpoint = register(api, org_path, receiver.url, ["contact.created"])
    contact = api.post(f"{org_path}/contacts", {"name": "Ann", "email": "ann@example.com"}).json()
    work()
    [(headers, body)] = receiver.received
    assert verify([endpoint["secret"]], headers, body)
    assert not verify([endpoint["secret"]], headers, body.replace(b"Ann", b"Bob"))  # tampered
    event = receiver.events()[0]
    assert event["type"] == "contact.created"
    assert event["organization_id"] == organization.public_id
    assert headers["webhook-id"] == event["id"]
    assert event["id"].startswith("evt_")
    assert (
        event["data"] == contact == api.get(f"{org_path}/contacts/{contact['contact_id']}").json()
    )
    delivery = Delivery.objects.unscoped().get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


def test_during_rotation_both_secrets_sign(api: Api, org_path: str, receiver: Receiver) -> None:
    endpoint = register(api, org_path, receiver.url, ["*"])
    path = f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}/rotate-secret"
    new = api.post(path).json()["secret"]
    api.post(f"{org_path}/companies", {"name": "Acme"})
    work()
    [(headers, body)] = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify([new], headers, body)
    assert verify([endpoint["secret"]], headers, body)


def test_exactly_the_subscribed_events_arrive_once_for_every_endpoint(
    api: Api, org_path: str, receiver: Receiver
) -> None:
    register(api, org_path, receiver.url, ["company.created"])
    register(api, org_path, receiver.url + "/all", ["*"])
    disabled = register(api, org_path, receiver.url + "/off", ["*"])
    api.patch(f"{org_path}/webhook-endpoints/{disabled['endpoint_id']}", {"enabled": False})
    api.post(f"{org_path}/contacts", {"name": "Ann"})
    api.post(f"{org_path}/companies", {"name": "Acme"})
    work()
    got = sorted(
        (h["webhook-id"], e["type"])
        for (h, _), e in zip(receiver.received, receiver.events(), strict=True)
    )
    types = [t for _, t in got]
    assert sorted(types) == ["company.created", "company.created", "contact.created"]
    company_ids = {i for i, t in got if t == "company.created"}
    assert len(company_ids) == 1  # one event, one id, for every endpoint
    assert (
        Delivery.objects.unscoped().filter(endpoint__public_id=disabled["endpoint_id"]).count() == 0
    )


def test_a_rolled_back_write_sends_nothing(
    api: Api, org_path: str, receiver: Receiver, organization: Organization
) -> None:
    register(api, org_path, receiver.url, ["*"])

    def write() -> None:
        with transaction.atomic():
            contact_create(organization=organization, name="Never")
            raise RuntimeError("the rest of the write failed")

    with pytest.raises(RuntimeError):
        write()
    work()
    assert Delivery.objects.unscoped().count() == 0
    assert receiver.received == []


def pending_after_one_attempt(api: Api, org_path: str, url: str) -> Delivery:
    register(api, org_path, url, ["*"])
    api.post(f"{org_path}/companies", {"name": "Acme"})
    before = timezone.now()
    work()
    delivery = Delivery.objects.unscoped().get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at is not None
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 5 * 0.8 - 1 <= wait <= 5 * 1.2 + 1  # the first retry, about 5 s, with jitter
    return delivery


def test_a_500_is_retried_then_succeeds(api: Api, org_path: str, receiver: Receiver) -> None:
    receiver.status = 500
    delivery = pending_after_one_attempt(api, org_path, receiver.url)
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    receiver.status = 204
    Delivery.objects.unscoped().update(next_attempt_at=timezone.now())  # the clock moves on
    work()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 204)
    assert len({h["webhook-id"] for h, _ in receiver.received}) == 1  # the same id each time


def test_a_timeout_is_retried(
    api: Api, org_path: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "TIMEOUT", handlers.urllib3.Timeout(total=0.3, connect=0.3))
    receiver.delay = 1.0
    delivery = pending_after_one_attempt(api, org_path, receiver.url)
    assert delivery.last_error == "timed out (10 s)"


def test_a_refused_connection_is_retried(api: Api, org_path: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    delivery = pending_after_one_attempt(api, org_path, f"http://127.0.0.1:{port}/hooks")
    assert delivery.last_error is not None
    assert "refused" in delivery.last_error.lower()


def test_failed_after_the_last_attempt(api: Api, org_path: str, receiver: Receiver) -> None:
    receiver.status = 503
    delivery = pending_after_one_attempt(api, org_path, receiver.url)
    Delivery.objects.unscoped().update(
        attempts=len(handlers.RETRY_DELAYS), next_attempt_at=timezone.now()
    )
    work()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)


def test_an_endpoint_failing_for_five_days_is_disabled(
    api: Api, org_path: str, receiver: Receiver
) -> None:
    receiver.status = 500
    pending_after_one_attempt(api, org_path, receiver.url)
    endpoint = Endpoint.objects.unscoped().get()
    assert endpoint.failing_since is not None
    Endpoint.objects.unscoped().update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    Delivery.objects.unscoped().update(next_attempt_at=timezone.now())
    work()
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    read = api.get(f"{org_path}/webhook-endpoints/{endpoint.public_id}").json()
    assert read["enabled"] is False


def test_the_address_is_checked_again_at_send_time(
    api: Api, org_path: str, receiver: Receiver, settings: Any
) -> None:
    delivery_url = receiver.url
    register(api, org_path, delivery_url, ["*"])
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False  # as if the name now resolved to loopback
    api.post(f"{org_path}/companies", {"name": "Acme"})
    work()
    delivery = Delivery.objects.unscoped().get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "refused: 127.0.0.1 resolves to a non-public address (127.0.0.1)"
    assert receiver.received == []


def test_a_hostname_resolving_to_a_private_address_at_send_time_is_refused(
    api: Api, org_path: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    answers = {"hooks.example.com": "93.184.216.34"}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    register(api, org_path, "http://hooks.example.com/x", ["*"])
    answers["hooks.example.com"] = "10.0.0.7"  # DNS changed after the URL was saved
    api.post(f"{org_path}/companies", {"name": "Acme"})
    work()
    delivery = Delivery.objects.unscoped().get()
    assert delivery.last_error == (
        "refused: hooks.example.com resolves to a non-public address (10.0.0.7)"
    )


def test_redirects_are_not_followed(api: Api, org_path: str, receiver: Receiver) -> None:
    receiver.status = 302
    delivery = pending_after_one_attempt(api, org_path, receiver.url)
    assert (delivery.last_status_code, delivery.last_error) == (302, "HTTP 302")
    assert len(receiver.received) == 1


def test_the_deliveries_list_and_its_retry(api: Api, org_path: str, receiver: Receiver) -> None:
    receiver.status = 500
    pending_after_one_attempt(api, org_path, receiver.url)
    endpoint = Endpoint.objects.unscoped().get()
    listed = api.get(f"{org_path}/webhook-endpoints/{endpoint.public_id}/deliveries").json()
    [item] = listed["data"]
    assert list(item) == [
        "delivery_id",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "created_at",
    ]
    assert (item["status"], item["attempts"], item["last_status_code"]) == ("pending", 1, 500)
    receiver.status = 200
    path = (
        f"{org_path}/webhook-endpoints/{endpoint.public_id}/deliveries/{item['delivery_id']}/retry"
    )
    retried = api.post(path)
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    work()
    again = api.get(f"{org_path}/webhook-endpoints/{endpoint.public_id}/deliveries").json()
    assert (again["data"][0]["status"], again["data"][0]["attempts"]) == ("succeeded", 2)


def test_deleting_an_endpoint_cancels_its_pending_deliveries(
    api: Api, org_path: str, receiver: Receiver
) -> None:
    receiver.status = 500
    pending_after_one_attempt(api, org_path, receiver.url)
    endpoint = Endpoint.objects.unscoped().get()
    api.delete(f"{org_path}/webhook-endpoints/{endpoint.public_id}")
    assert Delivery.objects.unscoped().count() == 0


def test_two_subscribed_endpoints_cost_the_write_one_insert(
    api: Api, org_path: str, receiver: Receiver
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def inserts() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert api.post(f"{org_path}/contacts", {"name": "Ann"}).status_code == 200
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]

    api.post(f"{org_path}/contacts", {"name": "warm"})  # the key's first use writes to it
    without = inserts()
    register(api, org_path, receiver.url, ["contact.created"])
    register(api, org_path, receiver.url + "/2", ["*"])
    with_two = inserts()
    assert len(with_two) == len(without) + 1  # one INSERT of both deliveries
    assert Delivery.objects.unscoped().count() == 2


def test_a_slow_receiver_does_not_hold_up_the_others(api: Api, org_path: str) -> None:
    import time

    with Receiver() as slow, Receiver() as fast:
        slow.delay = 1.5
        register(api, org_path, slow.url, ["*"])
        register(api, org_path, fast.url, ["*"])
        api.post(f"{org_path}/companies", {"name": "Acme"})
        api.post(f"{org_path}/companies", {"name": "Zenith"})
        began = time.monotonic()
        work()
        took = time.monotonic() - began
    # Sent one after another, the slow one's two would take 3 s before the fast one's.
    assert took < 2.9
    assert len(fast.received) == len(slow.received) == 2
    assert Delivery.objects.unscoped().filter(status="succeeded").count() == 4
