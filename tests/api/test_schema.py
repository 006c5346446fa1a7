"""The served OpenAPI schema says what the server does: it is a valid OpenAPI document, it
documents exactly the routes the resolver has, and the real answers of every route match
the schemas it declares for them, so a route cannot drift from its documentation."""

from functools import cache
from typing import Any

import pytest
from django.test import Client
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from apps.organizations.models import ChannelKind, Organization
from hyperrep.ids import ID_PATTERN
from tests.factories import ChannelFactory
from tests.helpers import Api
from tests.security.routes import organization_routes
from tests.security.tenants import ids_of, make_tenant

pytestmark = pytest.mark.django_db

PREFIX = "/api/v2"
WINDOW = {"start_date": "2020-01-01", "end_date": "2026-01-01"}
BODIES = {
    "/contacts": {"name": "Ann", "phone_number": "555-010-9999", "custom_fields": {"a": None}},
    "/companies": {"name": "Acme", "domain": "https://Acme.example/x"},
    "/message-drafts": {"modality": "email", "to_email": "a@example.com", "subject": "Hi"},
    "/messages-drafts": {"modality": "email", "to_email": "b@example.com", "subject": "Hi"},
    "/response-drafts": {"body_html": "<p>Hi</p>"},
    "/webhook-endpoints": {"url": "https://93.184.216.34/hook", "events": ["contact.created"]},
    "/rotate-secret": None,
    "/retry": None,
}


@cache
def spec() -> dict[str, Any]:
    return Client().get(f"{PREFIX}/openapi.json").json()


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method.upper(), operation)
        for path, item in spec()["paths"].items()
        for method, operation in item.items()
    ]


def inline(node: Any) -> Any:
    """The schema with every `$ref` to a component replaced by the component."""
    if isinstance(node, dict):
        if "$ref" in node:
            return inline(spec()["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
        return {key: inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item) for item in node]
    return node


def assert_matches(body: Any, path: str, method: str, status: str = "200") -> None:
    operation = spec()["paths"][path][method.lower()]
    declared = operation["responses"][status]["content"]["application/json"]["schema"]
    validator = OAS30Validator(inline(declared), format_checker=oas30_format_checker)
    problems = [error.message for error in validator.iter_errors(body)]
    assert problems == [], (method, path, status)


def test_the_schema_is_valid_openapi() -> None:
    validate(spec())
    assert spec()["openapi"].startswith("3.0")


def test_it_documents_exactly_the_routes_there_are() -> None:
    routed = {PREFIX + route.template for route in organization_routes()}
    routed |= {f"{PREFIX}/organizations", f"{PREFIX}/organizations/{{organization_id}}"}
    assert set(spec()["paths"]) == routed


def test_every_operation_has_its_own_description() -> None:
    described = [operation.get("description", "") for _path, _method, operation in operations()]
    assert all(len(text) > 20 for text in described), described
    assert len(set(described)) == len(described)


def test_path_ids_have_the_id_pattern_and_bodies_are_closed() -> None:
    for path, method, operation in operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"] == {"type": "string", "pattern": ID_PATTERN}, path
        if "requestBody" in operation:
            body = inline(operation["requestBody"]["content"]["application/json"]["schema"])
            assert body["additionalProperties"] is False, (method, path)


def test_every_optional_query_parameter_takes_an_empty_value() -> None:
    for path, _method, operation in operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                assert OAS30Validator(parameter["schema"]).is_valid(""), (path, parameter)


def test_custom_fields_are_declared_with_their_rules() -> None:
    declared = spec()["components"]["schemas"]["ContactCreateRequest"]["properties"]
    validator = OAS30Validator(declared["custom_fields"])
    assert validator.is_valid({"a": "x", "b": 1, "c": True, "d": None})
    assert not validator.is_valid({"a": {"nested": 1}})
    assert not validator.is_valid({f"k{i}": 1 for i in range(51)})


def test_every_get_answers_what_it_declares(api: Api, organization: Organization) -> None:
    tenant = make_tenant(organization)
    org = organization.public_id
    assert_matches(api.get("/organizations").json(), f"{PREFIX}/organizations", "GET")
    assert_matches(
        api.get(f"/organizations/{org}").json(),
        f"{PREFIX}/organizations/{{organization_id}}",
        "GET",
    )
    checked = 0
    for route in organization_routes():
        if "GET" not in route.methods:
            continue
        url = route.url(organization_id=org, **ids_of(tenant, route))
        params = WINDOW if "/analytics/" in route.template else {}
        params = {"limit": "500"} if route.is_list else params
        response = api.get(url, params)
        assert response.status_code == 200, (url, response.content[:200])
        if route.is_list:
            assert response.json()["data"], f"{url} listed nothing: the check would prove little"
        assert_matches(response.json(), PREFIX + route.template, "GET")
        checked += 1
    assert checked >= 20


def test_every_post_answers_what_it_declares(api: Api, organization: Organization) -> None:
    tenant = make_tenant(organization)
    ChannelFactory.create(organization=organization, kind=ChannelKind.EMAIL)
    posted = 0
    for route in organization_routes():
        if "POST" not in route.methods:
            continue
        body = next(body for end, body in BODIES.items() if route.template.endswith(end))
        url = route.url(organization_id=organization.public_id, **ids_of(tenant, route))
        response = api.post(url, body)
        assert response.status_code == 200, (url, response.content[:300])
        assert_matches(response.json(), PREFIX + route.template, "POST")
        posted += 1
    assert posted == len(BODIES)


def test_errors_answer_the_declared_error_shape(api: Api, org_path: str) -> None:
    path = f"{PREFIX}/organizations/{{organization_id}}/contacts/{{contact_id}}"
    for url, status in [
        (f"{org_path}/contacts/ctc_missing", "404"),
        (f"{org_path}/contacts/cmp_wrongtype", "400"),
        (f"{org_path}/contacts/ctc_missing?x=1", "422"),
    ]:
        response = api.get(url)
        assert str(response.status_code) == status
        assert_matches(response.json(), path, "GET", status)
    assert_matches(
        api.get("/organizations", key=None).json(), f"{PREFIX}/organizations", "GET", "403"
    )


def test_rate_limits_and_idempotency_are_documented_once_for_every_operation() -> None:
    headers = spec()["components"]["headers"]
    assert headers["Retry-After"]["required"] is True
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in operations():
        responses = operation["responses"]
        assert responses["429"]["content"]["application/json"]["schema"] == error, path
        assert "Retry-After" in responses["429"]["headers"], path
        for response in responses.values():
            assert {"RateLimit-Policy", "RateLimit"} <= set(response["headers"]), path
        keys = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        if method != "POST":
            assert keys == [], (method, path)
            continue
        assert (keys[0]["in"], keys[0].get("required", False)) == ("header", False), path
        assert OAS30Validator(keys[0]["schema"]).is_valid("a" * 255)
        assert not OAS30Validator(keys[0]["schema"]).is_valid("a" * 256)
        assert responses["409"]["content"]["application/json"]["schema"] == error, path
        assert (
            "Idempotency-Key was used with a different request" in (responses["422"]["description"])
        )
        assert "Idempotent-Replayed" in responses["200"]["headers"], path
