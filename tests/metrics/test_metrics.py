"""GET /metrics (hyperrep/metrics.py): who may read it, the route labels, the counts that move
with requests, queries and outbox attempts, the oldest due row's age, and the worker's own
metrics server."""

import inspect
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.drafts.models import DraftStatus, ResponseDraft
from apps.organizations.models import Organization
from hyperrep import metrics
from hyperrep.api import middleware
from hyperrep.outbox.worker import Worker
from tests.factories import (
    ChannelFactory,
    ConversationFactory,
    OrganizationFactory,
    ResponseDraftFactory,
)
from tests.helpers import Api, detail, free_port
from tests.metrics.conftest import sample, samples
from tests.webhooks.receiver import Receiver

TOKEN = "s3cret-metrics-token-0123456789"


@pytest.fixture
def client() -> Client:
    return Client()


def scrape(client: Client, **extra: Any) -> Any:
    return client.get("/metrics", **extra)


# --- Who may read them ------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_without_a_token_loopback_clients_read_the_text_format(
    client: Client, address: str
) -> None:
    response = scrape(client, REMOTE_ADDR=address)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert "# TYPE hyperrep_db_queries_total counter" in text
    assert "hyperrep_outbox_oldest_due_age_seconds" in text
    assert client.get("/metrics/", REMOTE_ADDR=address).status_code == 200


@pytest.mark.parametrize("address", ["203.0.113.7", "10.0.0.2", "2001:db8::1", ""])
def test_without_a_token_other_clients_are_refused(client: Client, address: str) -> None:
    response = scrape(client, REMOTE_ADDR=address)
    assert response.status_code == 403
    assert detail(response) == "Permission denied"


@pytest.mark.django_db
def test_with_a_token_the_bearer_token_is_required_from_anywhere(
    client: Client, settings: Any
) -> None:
    settings.METRICS_TOKEN = TOKEN
    for headers, status, said in [
        ({}, 401, "Missing metrics token"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "Missing metrics token"),
        ({"Authorization": "Bearer "}, 401, "Missing metrics token"),
        ({"Authorization": "Bearer wrong"}, 401, "Invalid metrics token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401, "Invalid metrics token"),
    ]:
        response = scrape(client, headers=headers)  # from loopback, too
        assert response.status_code == status, headers
        assert detail(response) == said
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    for scheme in ("Bearer", "bearer"):
        headers = {"Authorization": f"{scheme} {TOKEN}"}
        response = scrape(client, headers=headers, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200


def test_the_token_is_compared_in_constant_time() -> None:
    assert "compare_digest" in inspect.getsource(metrics.refusal)


def test_only_get_and_head(client: Client) -> None:
    response = client.post("/metrics")
    assert response.status_code == 405
    assert detail(response) == 'Method "POST" not allowed.'
    assert response["Allow"] == "GET, HEAD"


def test_metrics_are_not_in_the_openapi_schema(client: Client) -> None:
    schema = client.get("/api/v2/openapi.json").json()
    assert not [path for path in schema["paths"] if "metrics" in path]


# --- Requests -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_route_is_its_url_pattern_never_the_path(api: Api, org_path: str, client: Client) -> None:
    routes = set()
    for name in ("Ann", "Bob"):
        contact = api.post(f"{org_path}/contacts", {"name": name}).json()
        response = api.get(f"{org_path}/contacts/{contact['contact_id']}")
        assert response.status_code == 200
        routes.add(metrics.route_of(response.wsgi_request))
    assert routes == {"api/v2/organizations/<organization_id>/contacts/<contact_id>"}
    listed = api.get(f"{org_path}/contacts/")  # the trailing slash: the same route
    assert (
        metrics.route_of(listed.wsgi_request) == "api/v2/organizations/<organization_id>/contacts"
    )
    missing = api.get(f"{org_path}/contacts/ctc_nobody")  # a 404 of a known route keeps it
    assert missing.status_code == 404
    assert metrics.route_of(missing.wsgi_request).endswith("contacts/<contact_id>")
    for path in ("/no/such/path", "/api/v2/nothing-here", "/"):
        assert metrics.route_of(client.get(path).wsgi_request) == metrics.UNMATCHED
    assert metrics.route_of(client.get("/healthz").wsgi_request) == "healthz"


def test_route_labels_of_every_kind_of_pattern() -> None:
    assert metrics.route_label(r"^l/(?P<link_id>[^/]+)/?$") == "l/<link_id>"
    assert metrics.route_label(r"api/v2/openapi\.json/?$") == "api/v2/openapi.json"
    assert metrics.route_label("admin/contacts/contact/<path:object_id>/change/") == (
        "admin/contacts/contact/<object_id>/change"
    )
    assert metrics.route_label(r"^a/(?P<x>(?:b|c)[^/]+)/d$") == "a/<x>/d"
    assert metrics.route_label("") == metrics.UNMATCHED


def test_observed_requests_are_counted_by_method_route_and_status() -> None:
    route = "api/v2/organizations/<organization_id>/contacts"
    labels = {"method": "GET", "route": route, "status": "200"}
    before = sample("hyperrep_http_requests_total", **labels)
    slow_before = sample("hyperrep_http_request_duration_seconds_bucket", **labels, le="0.25")
    metrics.observe_request("GET", route, 200, 0.004)
    metrics.observe_request("GET", route, 200, 0.3)
    assert sample("hyperrep_http_requests_total", **labels) == before + 2
    assert sample("hyperrep_http_request_duration_seconds_count", **labels) >= 2
    slow = sample("hyperrep_http_request_duration_seconds_bucket", **labels, le="0.25")
    assert slow == slow_before + 1  # 4 ms is within 0.25 s, 300 ms is not
    odd = {"method": "other", "route": route, "status": "405"}
    before = sample("hyperrep_http_requests_total", **odd)
    metrics.observe_request("BREW", route, 405, 0.001)  # any method a client makes up: one label
    assert sample("hyperrep_http_requests_total", **odd) == before + 1


@pytest.mark.django_db
@pytest.mark.skipif(
    "observe_request" not in inspect.getsource(middleware),
    reason="the request middleware does not call metrics.observe_request yet",
)
def test_requests_through_the_middleware_are_counted_under_their_route(
    api: Api, org_path: str
) -> None:
    route = "api/v2/organizations/<organization_id>/contacts/<contact_id>"
    labels = {"method": "GET", "route": route, "status": "200"}
    before = sample("hyperrep_http_requests_total", **labels)
    for name in ("Ann", "Bob"):
        contact = api.post(f"{org_path}/contacts", {"name": name}).json()
        assert api.get(f"{org_path}/contacts/{contact['contact_id']}").status_code == 200
    assert sample("hyperrep_http_requests_total", **labels) == before + 2
    unmatched = {"method": "GET", "route": metrics.UNMATCHED, "status": "404"}
    before = sample("hyperrep_http_requests_total", **unmatched)
    api.client.get("/no/such/path")
    assert sample("hyperrep_http_requests_total", **unmatched) == before + 1


# --- Database queries -----------------------------------------------------------------------
@pytest.mark.django_db
def test_every_query_is_counted_once_by_alias() -> None:
    def count() -> float:
        return sample("hyperrep_db_queries_total", alias="default")

    with connection.cursor() as cursor:
        before = count()
        cursor.execute("SELECT 1")
        cursor.execute("SELECT 2")
    assert count() == before + 2
    Organization.objects.count()
    assert count() == before + 3
    with connection.execute_wrapper(lambda execute, *args: execute(*args)):  # a caller's own
        Organization.objects.count()
    Organization.objects.count()
    assert count() == before + 5  # counted once each, and still counted after that block


@pytest.mark.django_db(transaction=True)
def test_the_queries_of_a_new_connection_in_another_thread_are_counted() -> None:
    before = sample("hyperrep_db_queries_total", alias="default")

    def query() -> None:
        from django.db import connection as own

        try:
            for _ in range(3):
                with own.cursor() as cursor:
                    cursor.execute("SELECT 1")
            own.close()
            with own.cursor() as cursor:  # connected again: still counted once a query
                cursor.execute("SELECT 1")
        finally:
            own.close()

    thread = threading.Thread(target=query)
    thread.start()
    thread.join()
    assert sample("hyperrep_db_queries_total", alias="default") == before + 4


# --- The outbox ------------------------------------------------------------------------------
def due_draft(organization: Organization | None = None, *, late: timedelta) -> ResponseDraft:
    organization = organization or OrganizationFactory.create()
    due = timezone.now() - late
    return ResponseDraftFactory.create(
        conversation=ConversationFactory.create(organization=organization),
        status=DraftStatus.SCHEDULED,
        scheduled_to_send=True,
        scheduled_send_at=due,
        next_attempt_at=due,
    )


def ages(client: Client) -> dict[str, float]:
    response = scrape(client)
    assert response.status_code == 200
    return {
        dict(labels)["table"]: value
        for (name, labels), value in samples(response.content.decode()).items()
        if name == "hyperrep_outbox_oldest_due_age_seconds"
    }


@pytest.mark.django_db
def test_the_oldest_due_rows_age_appears_for_every_outbox_table(client: Client) -> None:
    tables = {"drafts_messagedraft", "drafts_responsedraft", "inbound_inboundevent"}
    assert ages(client).keys() >= {*tables, "webhooks_delivery"}
    assert all(age == 0 for age in ages(client).values())
    organization = OrganizationFactory.create()
    due_draft(organization, late=timedelta(seconds=30))
    due_draft(organization, late=timedelta(seconds=90))
    due_draft(organization, late=timedelta(seconds=-600))  # not due for 10 minutes
    seen = ages(client)
    assert 90 <= seen["drafts_responsedraft"] < 120
    assert seen["drafts_messagedraft"] == seen["inbound_inboundevent"] == 0
    ChannelFactory.create(organization=organization)  # console://
    Worker(idle_seconds=0).run(until_idle=True)
    assert ages(client)["drafts_responsedraft"] == 0  # delivered; the third is not yet due


@pytest.mark.django_db
def test_delivery_outcomes_are_counted_by_channel() -> None:
    def count(outcome: str) -> float:
        return sample("hyperrep_deliveries_total", channel="email", outcome=outcome)

    sent, failed = count("succeeded"), count("failed")
    organization = OrganizationFactory.create()
    ChannelFactory.create(organization=organization)  # console://
    due_draft(organization, late=timedelta(seconds=1))
    due_draft(organization, late=timedelta(seconds=1))
    due_draft(late=timedelta(seconds=1))  # an organization without a channel: permanent
    Worker(idle_seconds=0).run(until_idle=True)
    assert (count("succeeded"), count("failed")) == (sent + 2, failed + 1)
    assert ResponseDraft.objects.unscoped().filter(status=DraftStatus.SENT).count() == 2


@pytest.mark.django_db
def test_webhook_attempts_are_counted_by_outcome(api: Api, org_path: str, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_HTTP = settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True

    def count(outcome: str) -> float:
        return sample("hyperrep_webhook_attempts_total", outcome=outcome)

    succeeded, retrying = count("succeeded"), count("retrying")
    with Receiver() as receiver:
        endpoint = {"url": receiver.url, "events": ["contact.created"]}
        assert api.post(f"{org_path}/webhook-endpoints", endpoint).status_code == 200
        api.post(f"{org_path}/contacts", {"name": "Ann"})
        Worker(idle_seconds=0).run(until_idle=True)
        receiver.status = 500
        api.post(f"{org_path}/contacts", {"name": "Bob"})
        Worker(idle_seconds=0).run(until_idle=True)
    assert (count("succeeded"), count("retrying")) == (succeeded + 1, retrying + 1)


@pytest.mark.django_db
def test_inbound_events_processed_are_counted_by_source(
    organization: Organization, settings: Any
) -> None:
    from apps.organizations.models import ChannelKind
    from apps.organizations.services import channel_configure

    settings.INBOUND_RATE_LIMIT = "0"  # (budgets are not what this counts)
    channel = channel_configure(
        organization=organization, kind=ChannelKind.FORM, allowed_origins=["https://a.example"]
    )
    before = sample("hyperrep_inbound_events_total", source="form", outcome="succeeded")
    response = Client().post(
        f"/inbound/form/{channel.inbound_token}",
        "name=Ann&email=ann%40example.com",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 202
    Worker(idle_seconds=0).run(until_idle=True)
    after = sample("hyperrep_inbound_events_total", source="form", outcome="succeeded")
    assert after == before + 1


def test_rate_limiter_failures_are_counted() -> None:
    before = sample("hyperrep_rate_limiter_failures_total")
    metrics.count_rate_limiter_failure()
    assert sample("hyperrep_rate_limiter_failures_total") == before + 1


# --- The worker's metrics server ----------------------------------------------------------------
def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  # a test's http://
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_worker_serves_its_own_counts_under_the_same_rule(settings: Any) -> None:
    port = free_port()
    server = metrics.serve("127.0.0.1", port)
    try:
        metrics.count_webhook_attempt("failed")
        status, text = fetch(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        value = samples(text)[
            ("hyperrep_webhook_attempts_total", frozenset({("outcome", "failed")}))
        ]
        assert value == sample("hyperrep_webhook_attempts_total", outcome="failed")
        assert "hyperrep_outbox_oldest_due_age_seconds" not in text  # the web's alone
        assert fetch(f"http://127.0.0.1:{port}/other") == (404, '{"detail": "Not found"}')
        settings.METRICS_TOKEN = TOKEN
        assert fetch(f"http://127.0.0.1:{port}/metrics") == (
            401,
            '{"detail": "Missing metrics token"}',
        )
        authorized = {"Authorization": f"Bearer {TOKEN}"}
        assert fetch(f"http://127.0.0.1:{port}/metrics", authorized)[0] == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_the_worker_command_serves_metrics_while_it_runs(monkeypatch: Any) -> None:
    port = free_port()
    seen: list[int] = []

    def run(self: Worker, *, until_idle: bool = False) -> None:
        seen.append(fetch(f"http://127.0.0.1:{port}/metrics")[0])

    monkeypatch.setattr(Worker, "run", run)
    call_command("worker", "--until-idle", "--metrics-port", str(port))
    assert seen == [200]
    with pytest.raises(urllib.error.URLError):  # stopped with the worker
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
