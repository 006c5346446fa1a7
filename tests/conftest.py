from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.keys.services import api_key_create
from apps.organizations.models import Organization
from tests.factories import OrganizationFactory


class Api:
    """An API client for one key: `api.get(path)` with paths relative to /api/v2."""

    def __init__(self, key: str | None) -> None:
        self.client = APIClient()
        self.key = key

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"X-API-KEY": key} if key is not None else {}

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        headers = self._headers(extra.pop("key", self.key))
        return self.client.get(f"/api/v2{path}", params or {}, headers=headers, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        headers = self._headers(extra.pop("key", self.key))
        extra.setdefault("format", "json")
        return self.client.post(f"/api/v2{path}", body, headers=headers, **extra)


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory.create(name="Acme Roofing")


@pytest.fixture
def other_organization(db: None) -> Organization:
    return OrganizationFactory.create(name="Zenith Plumbing")


@pytest.fixture
def make_key(db: None) -> Callable[..., str]:
    def make(*organizations: Organization, **options: Any) -> str:
        return api_key_create(organizations=organizations, **options)[1]

    return make


@pytest.fixture
def api_key(make_key: Callable[..., str], organization: Organization) -> str:
    return make_key(organization, name="test")


@pytest.fixture
def api(api_key: str) -> Api:
    return Api(api_key)


@pytest.fixture
def org_path(organization: Organization) -> str:
    return f"/organizations/{organization.public_id}"


def detail(response: Any) -> str:
    """The `detail` of an error response, after checking the error shape."""
    body = response.json()
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str)
    return body["detail"]
