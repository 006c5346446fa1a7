"""Every list costs the same number of queries at limit 1 and at limit 500: no query per
row, whatever the page size."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.organizations.models import Organization
from tests.factories import ContactFactory
from tests.helpers import Api
from tests.security.routes import Route, organization_routes
from tests.security.tenants import ids_of

pytestmark = pytest.mark.django_db

LISTS = [route for route in organization_routes() if route.is_list]


def queries(api: Api, path: str, limit: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, {"limit": str(limit)})
    assert response.status_code == 200
    return len(captured), len(response.json()["data"])


@pytest.mark.parametrize("route", LISTS, ids=lambda r: r.template)
def test_queries_do_not_grow_with_the_page(
    api: Api, organization: Organization, filled_tenant: dict[str, Any], route: Route
) -> None:
    path = route.url(organization_id=organization.public_id, **ids_of(filled_tenant, route))
    api.get(path)  # last_used_at is written on first use; keep it out of the counts

    small, one_row = queries(api, path, 1)
    large, many_rows = queries(api, path, 500)
    assert one_row == 1
    assert many_rows > 1
    assert small == large


def test_a_list_is_one_query_for_the_key_and_organization_and_one_for_the_page(
    api: Api, org_path: str, organization: Any, django_assert_num_queries: Any
) -> None:
    ContactFactory.create_batch(3, organization=organization)
    api.get(f"{org_path}/contacts")
    with django_assert_num_queries(2) as captured:
        api.get(f"{org_path}/contacts", {"limit": "500"})
    key_and_organization = captured.captured_queries[0]["sql"]
    assert "keys_apikey" in key_and_organization
    assert "organizations_organization" in key_and_organization
