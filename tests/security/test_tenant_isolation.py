"""The tenant-isolation matrix: every organization-scoped route, against another
organization's objects. A route added later is covered the moment it is routed; one whose
ids this file cannot fill fails here until OBJECTS learns them."""

from collections.abc import Iterator
from typing import Any

import pytest

from apps.organizations.models import Organization
from tests.helpers import Api, detail
from tests.security.routes import Route, organization_routes
from tests.security.tenants import ids_of, make_tenant

pytestmark = pytest.mark.django_db

ROUTES = organization_routes()


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


@pytest.fixture
def tenants(organization: Organization, other_organization: Organization) -> tuple[dict, dict]:
    return make_tenant(organization), make_tenant(other_organization)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.template)
def test_another_organization_in_the_path_is_404(
    api: Api, tenants: tuple[dict, dict], other_organization: Organization, route: Route
) -> None:
    _mine, theirs = tenants
    url = route.url(organization_id=other_organization.public_id, **ids_of(theirs, route))
    for method in sorted(route.methods & {"GET", "POST", "PATCH", "DELETE"}):
        response = api.client.generic(
            method, f"/api/v2{url}", "{}", "application/json", HTTP_X_API_KEY=api.key
        )
        assert response.status_code == 404, (method, url)
        assert detail(response) == "Organization not found"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.kwargs], ids=lambda r: r.template)
def test_another_organizations_objects_are_404(
    api: Api, tenants: tuple[dict, dict], organization: Organization, route: Route
) -> None:
    mine, theirs = tenants
    for foreign in route.kwargs:  # each id in turn is the other tenant's
        ids = {**ids_of(mine, route), foreign: theirs[foreign].public_id}
        url = route.url(organization_id=organization.public_id, **ids)
        method = "GET" if "GET" in route.methods else min(route.methods)
        response = api.client.generic(
            method, f"/api/v2{url}", "{}", "application/json", HTTP_X_API_KEY=api.key
        )
        assert response.status_code == 404, route.template
        resource = foreign.removesuffix("_id").capitalize()
        assert detail(response) == f"{resource} not found"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.is_list], ids=lambda r: r.template)
def test_lists_never_show_another_organizations_rows(
    api: Api, tenants: tuple[dict, dict], organization: Organization, route: Route
) -> None:
    mine, theirs = tenants
    url = route.url(organization_id=organization.public_id, **ids_of(mine, route))
    response = api.get(url, {"limit": "500"})
    assert response.status_code == 200
    shown = set(strings(response.json()["data"]))
    assert shown, f"{route.template} listed nothing: the test would prove nothing"
    assert shown.isdisjoint({obj.public_id for obj in theirs.values()})
    assert shown & {obj.public_id for obj in mine.values()}


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if "POST" in r.methods], ids=lambda r: r.template
)
def test_another_organizations_idempotency_key_replays_nothing(
    api: Api,
    make_key: Any,
    tenants: tuple[dict, dict],
    organization: Organization,
    other_organization: Organization,
    route: Route,
) -> None:
    """The same key, path shape and body in two tenants: each runs its own request."""
    mine, theirs = tenants
    their_key = make_key(other_organization)
    for key, org, objects in [
        (their_key, other_organization, theirs),
        (api.key, organization, mine),
    ]:
        url = route.url(organization_id=org.public_id, **ids_of(objects, route))
        response = api.client.post(
            f"/api/v2{url}",
            b"{}",
            content_type="application/json",
            HTTP_X_API_KEY=key,
            HTTP_IDEMPOTENCY_KEY="shared-key",
        )
        assert response.status_code < 500, url
        # Neither a replay nor a clash: the other tenant's use of the key is not seen at all.
        assert "Idempotent-Replayed" not in response, url
        assert response.status_code != 409, url
        if response.status_code == 422:
            assert detail(response) != "Idempotency-Key was used with a different request", url
