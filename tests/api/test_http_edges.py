"""What the server answers at the edge of HTTP, before any view reads a body: JSON on every
non-admin route, whatever the method; bodies it cannot read correctly are refused, not
misread; answers are never cached."""

import re
import socket
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
JSON = re.compile(r"application/([a-z.]+\+)?json")


def non_admin_urls() -> list[str]:
    """One concrete URL per non-admin route of the resolver (ids filled with a stand-in)."""
    urls = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern).replace("^", "").replace("$", "")
            if text.startswith("admin/"):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                urls.append("/" + _fill(text))

    walk(get_resolver().url_patterns, "")
    return sorted(set(urls))


def _fill(text: str) -> str:
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "x1", text)
    return text.replace("/?", "/").replace("\\.", ".").replace("(?:", "").replace(")?", "")


def test_no_non_admin_route_answers_html(client: Client) -> None:
    strict = Client(enforce_csrf_checks=True)
    urls = [*non_admin_urls(), "/nope", "/api/v2/nope", "/static/nope.css"]
    assert len(urls) > 20
    for url in urls:
        for method in METHODS:
            if (url.rstrip("/"), method) == ("/api/docs", "GET"):
                continue  # the API reference itself is a page
            if (url.rstrip("/"), method) == ("/metrics", "GET"):
                continue  # Prometheus's text format (its errors are JSON)
            response = strict.generic(method, url, "{}", "application/json")
            assert JSON.fullmatch(response["Content-Type"]), (method, url)
            detail(response) if response.status_code >= 400 else response.json()


def test_a_post_to_an_unknown_path_is_the_json_404() -> None:
    response = Client(enforce_csrf_checks=True).post("/no/such/path", {"a": "b"})
    assert response.status_code == 404
    assert detail(response) == "Not found"


def test_a_chunked_body_is_411(api: Api, org_path: str) -> None:
    response = api.client.generic(
        "POST",
        f"/api/v2{org_path}/contacts",
        '{"name": "Ann"}',
        "application/json",
        HTTP_X_API_KEY=api.key,
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411
    assert detail(response) == "Content-Length required"


def test_a_declared_length_over_the_limit_is_413_and_a_bad_one_400(
    api: Api, org_path: str, settings: Any
) -> None:
    settings.API_MAX_BODY_BYTES = 1000
    for declared, status, message in [
        ("1001", 413, "Request body is larger than 1000 bytes"),
        ("-5", 400, "Invalid Content-Length"),
        ("12abc", 400, "Invalid Content-Length"),
    ]:
        response = api.client.generic(
            "POST",
            f"/api/v2{org_path}/contacts",
            "{}",
            "application/json",
            HTTP_X_API_KEY=api.key,
            CONTENT_LENGTH=declared,
        )
        assert (response.status_code, detail(response)) == (status, message)


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "UTF-32"])
def test_a_charset_other_than_utf8_is_415(api: Api, org_path: str, charset: str) -> None:
    body = '{"name": "Ann"}'.encode(charset.lower().replace("utf-32", "utf-32"))
    response = api.post(
        f"{org_path}/contacts",
        body,
        format=None,
        content_type=f"application/json; charset={charset}",
    )
    assert response.status_code == 415
    assert (
        detail(response)
        == f'Unsupported media type "application/json; charset={charset}" in request.'
    )


def test_utf8_named_either_way_is_read(api: Api, org_path: str) -> None:
    for charset in ("utf-8", "UTF-8", "utf8"):
        response = api.post(
            f"{org_path}/contacts",
            b'{"name": "Ann"}',
            format=None,
            content_type=f"application/json; charset={charset}",
        )
        assert response.status_code == 200, charset


def test_answers_are_never_stored_by_caches(api: Api, org_path: str, client: Client) -> None:
    for response in (
        api.get(f"{org_path}/contacts"),
        api.get(f"{org_path}/contacts/ctc_nope"),
        api.get("/organizations", key="hrk_bad"),
        client.get("/nope"),
    ):
        assert response["Cache-Control"] == "no-store", response.status_code


def raw_request(live_server: Any, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes to the live server over a real socket; what it answers first."""
    host, port = live_server.thread.host, live_server.thread.port
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_over_a_socket_a_chunked_upload_is_411_and_a_huge_length_413_before_the_body(
    live_server: Any, api_key: str, organization: Any
) -> None:
    path = f"/api/v2/organizations/{organization.public_id}/contacts"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {api_key}\r\n"
        "Content-Type: application/json\r\n"
    )
    chunk = b'{"name": "' + b"x" * 60000 + b'"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    answer = raw_request(
        live_server, (head + "Transfer-Encoding: chunked\r\n\r\n").encode(), chunked
    )
    assert answer.startswith(b"HTTP/1.1 411"), answer[:200]
    # Ten megabytes declared, none sent: the answer comes without waiting for them.
    answer = raw_request(live_server, (head + "Content-Length: 10485760\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
