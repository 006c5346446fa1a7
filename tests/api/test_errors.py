"""The error contract: every layer answers `{"detail": "..."}` with the documented status."""

from typing import Any

import pytest
from django.test import Client
from django.urls import path

from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def test_unknown_paths_are_json_404(api: Api, client: Client) -> None:
    for url in ["/api/v2/nope", "/nope", "/api/v3/organizations", "/api/v2/organizations/x/y/z"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert detail(response) == "Not found"


def test_unknown_paths_are_json_404_with_debug_on(client: Client, settings: Any) -> None:
    settings.DEBUG = True
    response = client.get("/api/v2/nope")
    assert response.status_code == 404
    assert detail(response) == "Not found"


def test_bad_hosts_are_json_400_also_with_debug_on(client: Client, settings: Any) -> None:
    for debug in (False, True):
        settings.DEBUG = debug
        response = client.get("/api/v2/organizations", headers={"host": "evil.example"})
        assert response.status_code == 400
        assert detail(response) == "Bad request"


def test_any_accept_header_gets_json(api: Api) -> None:
    for accept in ["text/html", "application/xml", "*/*", "application/json"]:
        response = api.get("/organizations", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"


def test_options_describes_no_request_body(api: Api, org_path: str) -> None:
    response = api.client.options(f"/api/v2{org_path}/contacts", headers={"X-API-KEY": api.key})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Contact List"
    assert "actions" not in body


def test_method_not_allowed_names_the_allowed_methods(api: Api, org_path: str) -> None:
    response = api.client.delete(f"/api/v2{org_path}/contacts", HTTP_X_API_KEY=api.key)
    assert response.status_code == 405
    assert detail(response) == 'Method "DELETE" not allowed.'
    assert "GET" in response["Allow"]
    assert "POST" in response["Allow"]

    response = api.post(f"{org_path}/agents", {})
    assert response.status_code == 405
    assert "POST" not in response["Allow"]


def test_a_body_that_is_not_json_is_415(api: Api, org_path: str) -> None:
    response = api.post(
        f"{org_path}/contacts",
        "name=Ann",
        format=None,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in detail(response)


def test_a_body_without_content_type_is_415(api: Api, org_path: str) -> None:
    response = api.client.generic(
        "POST",
        f"/api/v2{org_path}/contacts",
        '{"name": "Ann"}',
        content_type="",
        HTTP_X_API_KEY=api.key,
    )
    assert response.status_code == 415
    assert detail(response) == "Content-Type must be application/json"


def test_a_body_over_the_limit_is_413(api: Api, org_path: str, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 1000
    response = api.post(f"{org_path}/contacts", {"name": "x" * 2000})
    assert response.status_code == 413
    assert detail(response) == "Request body is larger than 1000 bytes"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Malformed JSON"),
        (b'{"name": NaN}', "Malformed JSON"),
        (b"\xff\xfe{}", "Request body is not valid UTF-8"),
        (b'{"name": "a\\u0000b"}', "NUL characters are not allowed"),
        (b'{"name": "\\ud800"}', "Strings must be valid Unicode text"),
        (b'{"name": 1e999}', "Malformed JSON"),
        (b"[" * 100 + b"]" * 100, "JSON nested deeper than 32 levels"),
        (b"[" * 100000 + b"]" * 100000, "JSON nested deeper than 32 levels"),
    ],
)
def test_bad_json_is_400(api: Api, org_path: str, body: bytes, message: str) -> None:
    response = api.post(f"{org_path}/contacts", body, format=None, content_type="application/json")
    assert response.status_code == 400
    assert detail(response).startswith(message)


def test_validation_errors_are_422_naming_each_field(api: Api, org_path: str) -> None:
    response = api.post(
        f"{org_path}/contacts", {"x": 1, "custom_fields": [], "name": 7, "email": "nope"}
    )
    assert response.status_code == 422
    assert detail(response) == (
        "name: Not a valid string.; email: Enter a valid email address.; "
        "custom_fields: Must be a JSON object.; x: Unknown field."
    )


def crash(request: Any) -> Any:
    raise RuntimeError("secret internals")


urlpatterns = [path("crash", crash)]


@pytest.mark.urls("tests.api.test_errors")
@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_is_a_json_500_without_traceback(
    client: Client, settings: Any, caplog: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    client.raise_request_exception = False
    response = client.get("/crash", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response["X-Request-ID"] == "req-123"
    assert b"secret internals" not in response.content
    crash_logs = [r for r in caplog.records if r.exc_info]
    assert crash_logs
    assert crash_logs[0].request_id == "req-123"


def test_request_ids(api: Api) -> None:
    echoed = api.get("/organizations", HTTP_X_REQUEST_ID="abc.DEF-123_x")
    assert echoed["X-Request-ID"] == "abc.DEF-123_x"
    for insane in ["has space", "x" * 129, "semi;colon", ""]:
        minted = api.get("/organizations", HTTP_X_REQUEST_ID=insane)["X-Request-ID"]
        assert minted != insane
        assert len(minted) == 32
    first, second = api.get("/organizations"), api.get("/organizations")
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert Api(None).get("/nope")["X-Request-ID"]  # errors carry one too


def test_the_request_log_line_names_the_request_id(api: Api, caplog: Any) -> None:
    caplog.set_level("INFO", logger="hyperrep.request")
    api.get("/organizations", HTTP_X_REQUEST_ID="trace-me")
    [line] = [r for r in caplog.records if r.name == "hyperrep.request"]
    assert line.request_id == "trace-me"
    assert line.getMessage().startswith("GET /api/v2/organizations 200")

    caplog.clear()
    api.get("/organizations/x%0Aforged%20line/contacts")
    [line] = [r for r in caplog.records if r.name == "hyperrep.request"]
    assert "\n" not in line.getMessage()
    assert "/organizations/x%0Aforged%20line/contacts 400" in line.getMessage()


def test_health_probes_need_no_key(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}
    response = client.post("/healthz")
    assert response.status_code == 405
    assert detail(response) == 'Method "POST" not allowed.'


def test_the_openapi_schema_and_docs_are_served_offline(client: Client) -> None:
    schema = client.get("/api/v2/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v2/organizations/{organization_id}/contacts" in paths
    contacts = paths["/api/v2/organizations/{organization_id}/contacts"]
    assert {p["name"] for p in contacts["get"]["parameters"]} >= {
        "limit",
        "cursor",
        "email",
        "phone_number",
        "company_id",
        "start_date",
        "end_date",
    }
    assert {"200", "400", "403", "404", "422"} <= set(contacts["get"]["responses"])
    assert {"411", "413", "415"} <= set(contacts["post"]["responses"])
    assert "200" in contacts["post"]["responses"]  # every success is 200, POST included
    assert "201" not in contacts["post"]["responses"]
    start_date = next(p for p in contacts["get"]["parameters"] if p["name"] == "start_date")
    assert start_date["schema"] == {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
            {"type": "string", "maxLength": 0},  # an empty value is no filter
        ]
    }
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"http://" not in docs.content.replace(b"http://testserver", b"")
    assert b"https://" not in docs.content


def test_a_method_the_route_lacks_is_405_whatever_the_query_string(api: Api, org_path: str) -> None:
    for method in ("TRACE", "PUT", "PATCH", "DELETE"):
        response = api.client.generic(
            method, f"/api/v2{org_path}/contacts?limit=1&bogus=2", HTTP_X_API_KEY=api.key
        )
        assert response.status_code == 405, method
        assert detail(response) == f'Method "{method}" not allowed.'
    response = api.client.generic(
        "TRACE", "/api/v2/organizations/org_nope/contacts", HTTP_X_API_KEY=api.key
    )
    assert response.status_code == 405  # before the organization is looked up


def test_the_schema_and_the_reference_answer_with_a_trailing_slash_too(client: Client) -> None:
    for url in ("/api/v2/openapi.json", "/api/v2/openapi.json/", "/api/docs", "/api/docs/"):
        assert client.get(url).status_code == 200, url
