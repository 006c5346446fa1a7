from typing import Any

import pytest

from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def test_organization_detail(api: Api, organization: Any) -> None:
    response = api.get(f"/organizations/{organization.public_id}")
    assert response.status_code == 200
    assert response.json() == {"organization_id": organization.public_id, "name": "Acme Roofing"}
    # the same path with a trailing slash answers the same, without a redirect
    assert api.get(f"/organizations/{organization.public_id}/").json() == response.json()
    assert api.get("/organizations/").json() == api.get("/organizations").json()


@pytest.mark.parametrize(
    "organization_id",
    ["ctc_3hG5kq2mN8pQ4rS6tU7vW9", "has space", "x" * 256, "a%25b", "bad!char"],
)
def test_ids_that_cannot_be_valid_are_400(api: Api, organization_id: str) -> None:
    response = api.get(f"/organizations/{organization_id}/contacts")
    assert response.status_code == 400
    assert detail(response) == "Invalid organization_id"


@pytest.mark.parametrize("organization_id", ["org_3hG5kq2mN8pQ4rS6tU7vW9", "legacy-org.7"])
def test_unknown_organizations_are_404(api: Api, organization_id: str) -> None:
    for path in [f"/organizations/{organization_id}", f"/organizations/{organization_id}/agents"]:
        response = api.get(path)
        assert response.status_code == 404
        assert detail(response) == "Organization not found"


def test_another_tenants_organization_is_the_same_404(api: Api, other_organization: Any) -> None:
    response = api.get(f"/organizations/{other_organization.public_id}/contacts")
    assert response.status_code == 404
    assert detail(response) == "Organization not found"


def test_an_inactive_organization_is_out_of_reach(api: Api, organization: Any) -> None:
    organization.is_active = False
    organization.save()
    assert api.get("/organizations").json() == {"data": []}
    response = api.get(f"/organizations/{organization.public_id}/contacts")
    assert response.status_code == 404
    assert detail(response) == "Organization not found"


def test_unknown_query_parameters_are_422(api: Api, org_path: str) -> None:
    for path in ("/organizations", org_path):
        response = api.get(path, {"limit": "5"})
        assert response.status_code == 422
        assert detail(response) == "limit: Unknown query parameter."
