"""An answer leaves no reference cycle behind: what a request built (its page of rows, their
rendering, the view, DRF's request and response) is freed by reference counting once the
server lets go of the answer, not by the cyclic collector, whose full passes over pages left
behind were the longest pauses of a busy worker (bench/README.md, "The messages p99").

Requests go through Django's WSGI handler as a server calls it (not the test client, whose
answers carry cycles of their own), with the collector paused: what a collection then finds
unreachable is what the request left in cycles."""

import gc
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.test.client import ClientHandler

from apps.organizations.models import Organization
from tests.security.routes import Route, organization_routes
from tests.security.tenants import ids_of

pytestmark = pytest.mark.django_db

READS = [route for route in organization_routes() if "GET" in route.methods]
# What must never be left: the page, its rendering, the answer.
ANSWER = ("Row", "Serializer", "Response", "ReturnList", "ReturnDict", "Pagination")


@pytest.fixture
def collector_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def left_in_cycles(handler: ClientHandler, path: str, query: str, key: str) -> list[Any]:
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": f"/api/v2{path}", "QUERY_STRING": query,
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver",
        "HTTP_X_API_KEY": key, "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1",
    }  # fmt: skip
    answer = handler(environ)
    assert answer.status_code == 200, b"".join(answer)
    del answer
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    left = list(gc.garbage)
    gc.garbage.clear()
    gc.set_debug(0)
    return left


@pytest.mark.parametrize("route", READS, ids=lambda r: r.template)
def test_an_answer_is_freed_without_the_collector(
    api_key: str,
    organization: Organization,
    filled_tenant: dict[str, Any],
    route: Route,
    collector_paused: None,
) -> None:
    path = route.url(organization_id=organization.public_id, **ids_of(filled_tenant, route))
    handler = ClientHandler()
    window = "start_date=2025-01-01&end_date=2025-12-31" if "/analytics" in path else ""
    left_in_cycles(handler, path, window, api_key)  # the first use writes last_used_at
    gc.collect()

    pages = ["limit=1", "limit=500"] if route.is_list else [window]
    left = {query: left_in_cycles(handler, path, query, api_key) for query in pages}

    for query, objects in left.items():
        classes = {type(thing).__name__ for thing in objects}
        assert {name for name in classes if name.endswith(ANSWER)} == set(), query
        assert [thing for thing in objects if hasattr(thing, "_fields")] == [], query  # rows
    if route.is_list:  # DRF's and Django's own request cycles: the same for any page
        assert len(left["limit=1"]) == len(left["limit=500"])
