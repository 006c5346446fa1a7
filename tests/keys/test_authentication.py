from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.keys.models import ApiKey
from apps.keys.services import api_key_revoke
from tests.factories import OrganizationFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

# A route that names no organization, and two that name one: there the key and the
# organization come in one query (api_key_authenticate), which must refuse a key alike.
WHERE = ["/organizations", "/organizations/{org}", "/organizations/{org}/contacts"]


def test_a_valid_key_lists_its_organization(api: Api, organization: Any) -> None:
    response = api.get("/organizations")
    assert response.status_code == 200
    assert response.json() == {
        "data": [{"organization_id": organization.public_id, "name": "Acme Roofing"}]
    }


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key(organization: Any, key: str | None) -> None:
    response = Api(key).get("/organizations")
    assert response.status_code == 403
    assert detail(response) == "Missing API Key"


@pytest.mark.parametrize(
    "path",
    [
        "/organizations/bad id!/contacts",
        "/organizations/a%00b/contacts?email=%00",
        "/organizations/x/contacts?limit=0&cursor=junk",
    ],
)
def test_authentication_comes_before_anything_else(organization: Any, path: str) -> None:
    response = Api(None).get(path)
    assert response.status_code == 403
    assert detail(response) == "Missing API Key"
    response = Api(None).client.generic("POST", f"/api/v2{path}", "{" * 10, content_type="")
    assert response.status_code == 403
    assert detail(response) == "Missing API Key"


@pytest.mark.parametrize(
    "key",
    [
        "garbage",
        "hrk_short_x",
        "hrk_AAAAAAAA_" + "a" * 43,  # well formed, unknown prefix
        "Bearer something",
    ],
)
def test_invalid_key(api: Api, key: str) -> None:
    response = api.get("/organizations", key=key)
    assert response.status_code == 403
    assert detail(response) == "Invalid API Key"


@pytest.mark.parametrize("where", WHERE)
def test_a_wrong_secret_behind_a_real_prefix_is_invalid(
    api: Api, api_key: str, organization: Any, where: str
) -> None:
    tampered = api_key[:-1] + ("a" if api_key[-1] != "a" else "b")
    response = api.get(where.format(org=organization.public_id), key=tampered)
    assert response.status_code == 403
    assert detail(response) == "Invalid API Key"


@pytest.mark.parametrize("where", WHERE)
def test_inactive_key(api: Api, api_key: str, organization: Any, where: str) -> None:
    api_key_revoke(key_or_prefix=api_key)
    response = api.get(where.format(org=organization.public_id))
    assert response.status_code == 403
    assert detail(response) == "API Key is inactive"


@pytest.mark.parametrize("where", WHERE)
def test_expired_key(make_key: Any, organization: Any, where: str) -> None:
    key = make_key(organization, expires_at=timezone.now() - timedelta(seconds=1))
    response = Api(key).get(where.format(org=organization.public_id))
    assert response.status_code == 403
    assert detail(response) == "API Key has expired"


@pytest.mark.parametrize("org", ["bad id!", "ctc_wrongtype", "org_unknown", "{other}"])
def test_a_refused_key_is_403_before_what_is_wrong_with_the_organization(
    api: Api, api_key: str, other_organization: Any, org: str
) -> None:
    tampered = api_key[:-1] + ("a" if api_key[-1] != "a" else "b")
    path = f"/organizations/{org.format(other=other_organization.public_id)}/contacts"
    response = api.get(path, key=tampered)
    assert response.status_code == 403
    assert detail(response) == "Invalid API Key"
    answer = api.get(path)  # the key itself is good: what is wrong is the organization
    assert answer.status_code == (400 if org in ("bad id!", "ctc_wrongtype") else 404)


def test_a_key_expiring_later_works(make_key: Any, organization: Any) -> None:
    key = make_key(organization, expires_at=timezone.now() + timedelta(days=1))
    assert Api(key).get("/organizations").status_code == 200


def test_read_only_key_reads_but_cannot_post(make_key: Any, organization: Any) -> None:
    api = Api(make_key(organization, read_only=True))
    path = f"/organizations/{organization.public_id}/contacts"
    assert api.get(path).status_code == 200
    response = api.post(path, {"name": "Ann"})
    assert response.status_code == 403
    assert detail(response) == "API Key does not have write access"


def test_a_key_reaches_several_organizations_by_name(make_key: Any) -> None:
    zeta, alpha, hidden = (OrganizationFactory.create(name=n) for n in ("Zeta", "Alpha", "Hidden"))
    inactive = OrganizationFactory.create(name="Beta", is_active=False)
    api = Api(make_key(zeta, alpha, inactive))
    names = [row["name"] for row in api.get("/organizations").json()["data"]]
    assert names == ["Alpha", "Zeta"]
    assert api.get(f"/organizations/{hidden.public_id}").status_code == 404
    response = api.get(f"/organizations/{inactive.public_id}")
    assert response.status_code == 404
    assert detail(response) == "Organization not found"


def test_last_used_at_is_written_at_most_once_a_minute(
    api: Api, api_key: str, django_assert_num_queries: Any
) -> None:
    key = ApiKey.objects.get(prefix=api_key[4:12])
    assert key.last_used_at is None
    with django_assert_num_queries(3):  # key lookup, last_used_at write, organizations
        api.get("/organizations")
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None
    with django_assert_num_queries(2):  # no write this time
        api.get("/organizations")
    key.refresh_from_db()
    assert key.last_used_at == first_use

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first_use - timedelta(minutes=2))
    api.get("/organizations")
    key.refresh_from_db()
    assert key.last_used_at > first_use
