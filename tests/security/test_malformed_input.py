"""Malformed input on every organization-scoped route: a 4xx JSON error with its exact
status and detail, never a 5xx (and so never a database error surfacing as a crash), never
a silently ignored value."""

from typing import Any

import pytest

from apps.organizations.models import Organization
from tests.helpers import Api, detail
from tests.security.routes import Route, organization_routes
from tests.security.tenants import ids_of, make_tenant

pytestmark = pytest.mark.django_db

ROUTES = organization_routes()
LISTS = [route for route in ROUTES if route.is_list]
BAD_IDS = ["%00", "a%00b", "%FF%FE", "x" * 300, "ctc_", "%20", "a%2Cb", "..", "%C0%AF"]

NUL = (400, "NUL characters are not allowed")
LIMIT = (422, "limit: Must be an integer from 1 to 500.")
CURSOR = (400, "Invalid cursor")
DATE = "Enter an ISO 8601 date or datetime, e.g. 2026-03-12 or 2026-03-12T00:32:13Z."
# Wrong on every list, whatever it filters: (query, status, detail).
EVERY_LIST: list[tuple[str, int, str]] = [
    ("limit=0", *LIMIT),
    ("limit=501", *LIMIT),
    ("limit=-1", *LIMIT),
    ("limit=abc", *LIMIT),
    ("limit=99999999999999999999", *LIMIT),
    ("cursor=abc", *CURSOR),
    ("cursor=%FF", *CURSOR),
    ("cursor=" + "A" * 5000, *CURSOR),
    ("start_dat=2026-01-01", 422, "start_dat: Unknown query parameter."),
    ("limit=5&Limit=5", 422, "Limit: Unknown query parameter."),
    ("limit=%00", *NUL),
    ("cursor=%00", *NUL),
    ("start_date=%00", *NUL),
    ("email=a%00b", *NUL),
    ("x%00=1", *NUL),
    ("email=a&email=%00", *NUL),
]
# Wrong where the list has the filters, and unknown parameters where it has not:
# (query, status, detail where the list has them).
FILTER_QUERIES: list[tuple[str, int, str]] = [
    ("start_date=2026-13-45", 422, f"start_date: {DATE}"),
    ("end_date=%FF%FE", 422, f"end_date: {DATE}"),
    ("start_date=9999-99-99T99:99", 422, f"start_date: {DATE}"),
    ("start_date=9999-12-31T23:00:00-01:00", 422, f"start_date: {DATE}"),
    ("end_date=0001-01-01T00:00:00%2B01:00", 422, f"end_date: {DATE}"),
    (
        "start_date=2026-02-01&end_date=2026-01-01",
        400,
        "start_date must be less than or equal to end_date",
    ),
    ("company_id=%FF", 400, "Invalid company_id"),
    ("company_id=" + "x" * 300, 400, "Invalid company_id"),
    ("company_id=cnv_abc", 400, "Invalid company_id"),
    ("is_read=maybe", 422, "is_read: Must be true or false."),
    ("folder=%FF", 200, ""),
    ("email=%FF", 200, ""),
    ("email=" + "a" * 100000, 200, ""),
]
# POST routes whose body is empty (or an empty object).
TAKE_NO_BODY = ("/rotate-secret", "/retry")
BAD_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"a string"', "application/json"),
    (b"\x00", "application/json"),
    (b'{"name": "\\u0000"}', "application/json"),
    (b'{"name": "\\ud800"}', "application/json"),  # a lone surrogate
    (b'{"name": "\xff"}', "application/json"),
    (b'{"name": 1e999}', "application/json"),
    (b'{"name": {"a": [1, {"b": null}]}}', "application/json"),
    (b'{"name": ["x"], "custom_fields": "x", "company_id": 5, "agent_id": []}', "application/json"),
    (b"[" * 50000, "application/json"),
    (b'{"name": "x"}', "text/plain"),
]


@pytest.fixture
def ids(organization: Organization) -> dict[str, Any]:
    return make_tenant(organization)


def url_of(route: Route, organization: Organization, ids: dict[str, Any]) -> str:
    return "/api/v2" + route.url(organization_id=organization.public_id, **ids_of(ids, route))


def get(api: Api, url: str, query: str) -> Any:
    return api.client.get(f"{url}?{query}", headers={"X-API-KEY": api.key})


def assert_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.content[:300]
    detail(response)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.template)
def test_bad_ids_in_the_path(api: Api, ids: dict, organization: Organization, route: Route) -> None:
    for name in ("organization_id", *route.kwargs):
        for bad in BAD_IDS:
            values = {"organization_id": organization.public_id, **ids_of(ids, route), name: bad}
            assert_client_error(api.get(route.url(**values)))


@pytest.mark.parametrize("route", LISTS, ids=lambda r: r.template)
def test_what_every_list_refuses(
    api: Api, ids: dict, organization: Organization, route: Route
) -> None:
    url = url_of(route, organization, ids)
    for query, status, expected in EVERY_LIST:
        response = get(api, url, query)
        assert (response.status_code, detail(response)) == (status, expected), query


@pytest.mark.parametrize("route", LISTS, ids=lambda r: r.template)
def test_filter_values_where_the_filter_exists_and_where_it_does_not(
    api: Api, ids: dict, organization: Organization, route: Route
) -> None:
    url = url_of(route, organization, ids)
    for query, status, expected in FILTER_QUERIES:
        response = get(api, url, query)
        unknown = [
            p.split("=")[0] for p in query.split("&") if p.split("=")[0] not in route.filters
        ]
        if unknown:
            status, expected = 422, "; ".join(f"{u}: Unknown query parameter." for u in unknown)
        assert response.status_code == status, query
        if status == 200:
            assert response.json()["data"] == []
        else:
            assert detail(response) == expected, query


@pytest.mark.parametrize("route", LISTS, ids=lambda r: r.template)
def test_a_query_parameter_given_twice_is_422(
    api: Api, ids: dict, organization: Organization, route: Route
) -> None:
    url = url_of(route, organization, ids)
    for query, name in [
        ("limit=abc&limit=5", "limit"),
        ("cursor=a&cursor=b", "cursor"),
        ("cursor=&cursor=", "cursor"),
    ]:
        response = get(api, url, query)
        assert response.status_code == 422, query
        assert detail(response) == f"{name}: Give this parameter once."


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.template)
def test_an_unknown_parameter_is_422_on_every_route_and_method(
    api: Api, ids: dict, organization: Organization, route: Route
) -> None:
    url = url_of(route, organization, ids)
    for method in sorted(route.methods & {"GET", "POST"}):
        response = api.client.generic(
            method, f"{url}?start_dat=2026-01-01", "{}", "application/json", HTTP_X_API_KEY=api.key
        )
        assert response.status_code == 422, (method, url)
        assert detail(response) == "start_dat: Unknown query parameter."


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if "POST" in r.methods], ids=lambda r: r.template
)
def test_bad_bodies(api: Api, ids: dict, organization: Organization, route: Route) -> None:
    url = url_of(route, organization, ids)
    for body, content_type in BAD_BODIES:
        if body == b"" and route.template.endswith(TAKE_NO_BODY):
            continue  # an empty body is what such a route takes
        response = api.client.post(url, body, content_type=content_type, HTTP_X_API_KEY=api.key)
        assert_client_error(response)


BAD_IDEMPOTENCY_KEYS = ["nul\x00key", "x" * 10_000, "caf\u00e9", "\u4e2d\u6587", "", "a\r\nb"]


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if "POST" in r.methods], ids=lambda r: r.template
)
def test_a_bad_idempotency_key_is_400_on_every_post(
    api: Api, ids: dict, organization: Organization, route: Route
) -> None:
    """Checked before anything is written, whatever the body."""
    url = url_of(route, organization, ids)
    for key in BAD_IDEMPOTENCY_KEYS:
        response = api.client.post(
            url,
            b"{}",
            content_type="application/json",
            HTTP_X_API_KEY=api.key,
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == 400, (url, key[:20])
        assert detail(response) == "Invalid Idempotency-Key"
