"""The webhook endpoints API (§16): create with its secret, read, change, delete, rotate."""

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.organizations.models import Organization
from apps.webhooks.models import Endpoint, Secret
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db
URL = "https://hooks.example.com/hyperrep"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """hooks.example.com resolves to a public address (no DNS here); the rest as they are."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def create(api: Api, org_path: str, **body: Any) -> Any:
    return api.post(f"{org_path}/webhook-endpoints", {"url": URL, "events": ["*"], **body})


def test_create_answers_the_endpoint_and_its_secret_once(api: Api, org_path: str) -> None:
    response = create(api, org_path, events=["contact.created"], description="CRM")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "endpoint_id",
        "url",
        "events",
        "description",
        "enabled",
        "created_at",
        "secret",
    ]
    assert body["endpoint_id"].startswith("whe_")
    assert (body["url"], body["events"], body["enabled"]) == (URL, ["contact.created"], True)
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 24
    read = api.get(f"{org_path}/webhook-endpoints/{body['endpoint_id']}").json()
    assert "secret" not in read
    assert read == {k: v for k, v in body.items() if k != "secret"}
    stored = Secret.objects.unscoped().get()
    assert body["secret"] not in stored.sealed  # encrypted at rest
    assert stored.value() == body["secret"]


def test_the_list_is_newest_first_and_paginated(api: Api, org_path: str) -> None:
    ids = [create(api, org_path).json()["endpoint_id"] for _ in range(3)]
    page = api.get(f"{org_path}/webhook-endpoints", {"limit": 2}).json()
    assert [e["endpoint_id"] for e in page["data"]] == ids[::-1][:2]
    assert page["pagination"]["has_more"] is True


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"url": "http://hooks.example.com/x"}, 400, "Invalid url"),
        ({"url": "https://127.0.0.1/x"}, 400, "Invalid url"),
        ({"url": "https://[::1]/x"}, 400, "Invalid url"),
        ({"url": "https://169.254.169.254/latest"}, 400, "Invalid url"),
        ({"url": "https://internal.example.com/x"}, 400, "Invalid url"),
        ({"url": "https://[::ffff:10.0.0.1]/x"}, 400, "Invalid url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, 400, "Invalid url"),
        ({"url": "not a url"}, 400, "Invalid url"),
        ({"url": "https://hooks.example.com/x#part"}, 400, "Invalid url"),
        ({"events": []}, 422, 'events: Name at least one event type, or "*".'),
        (
            {"events": ["contact.deleted"]},
            422,
            'events.0: "contact.deleted" is not a valid choice.',
        ),
        (
            {"events": ["*", "message.sent"]},
            422,
            'events: "*" stands alone: it is every event type.',
        ),
    ],
)
def test_bad_input_is_refused(
    api: Api, org_path: str, body: dict[str, Any], status: int, message: str
) -> None:
    response = create(api, org_path, **body)
    assert response.status_code == status, response.json()
    assert detail(response) == message
    assert Endpoint.objects.unscoped().count() == 0


def test_http_and_private_networks_where_allowed(api: Api, org_path: str, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_HTTP = settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    assert create(api, org_path, url="http://127.0.0.1:9000/hook").status_code == 200


def test_patch_changes_only_what_is_given(api: Api, org_path: str) -> None:
    endpoint = create(api, org_path, description="CRM").json()
    path = f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}"
    changed = api.patch(path, {"enabled": False, "events": ["message.received"]}).json()
    assert changed == {
        **{k: v for k, v in endpoint.items() if k != "secret"},
        "enabled": False,
        "events": ["message.received"],
    }
    assert api.patch(path, {"url": "https://10.0.0.1/"}).status_code == 400
    assert api.patch(path, {"secret": "mine"}).status_code == 422
    assert api.get(path).json() == changed


def test_delete_answers_the_deleted_endpoint(api: Api, org_path: str) -> None:
    endpoint = create(api, org_path).json()
    path = f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}"
    deleted = api.delete(path)
    assert deleted.status_code == 200
    assert deleted.json() == {k: v for k, v in endpoint.items() if k != "secret"}
    assert api.get(path).status_code == 404
    assert detail(api.get(path)) == "Endpoint not found"
    assert Secret.objects.unscoped().count() == 0


def test_rotation_keeps_the_old_secret_signing_for_a_day(api: Api, org_path: str) -> None:
    endpoint = create(api, org_path).json()
    rotated = api.post(f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}/rotate-secret")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != endpoint["secret"]
    row = Endpoint.objects.unscoped().get()
    assert row.live_secrets() == [new, endpoint["secret"]]
    third = api.post(
        f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}/rotate-secret"
    ).json()["secret"]
    # Two sign at most: the one rotated out first stops now.
    assert row.live_secrets() == [third, new]
    Secret.objects.unscoped().exclude(expires_at=None).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert row.live_secrets() == [third]


def test_put_is_405_and_read_only_keys_cannot_write(
    api: Api, org_path: str, make_key: Any, organization: Organization
) -> None:
    endpoint = create(api, org_path).json()
    path = f"/api/v2{org_path}/webhook-endpoints/{endpoint['endpoint_id']}"
    put = api.client.put(path, {}, format="json", HTTP_X_API_KEY=api.key)
    assert put.status_code == 405
    reader = Api(make_key(organization, read_only=True))
    assert reader.get(f"{org_path}/webhook-endpoints").status_code == 200
    for response in (
        reader.patch(f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}", {"enabled": False}),
        reader.delete(f"{org_path}/webhook-endpoints/{endpoint['endpoint_id']}"),
        create(reader, org_path),
    ):
        assert response.status_code == 403
