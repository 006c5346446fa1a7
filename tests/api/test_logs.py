"""One log line per request, as text or (LOG_FORMAT=json) one JSON object: method, route
(the URL pattern), status, duration, request id, organization and key prefix, never the key
or a body."""

import json
import logging

import pytest

from apps.organizations.models import Organization
from hyperrep.logs import JsonLineFormatter, RequestIdLogFilter
from tests.helpers import Api


def test_a_request_line_as_json(
    api: Api,
    api_key: str,
    org_path: str,
    organization: Organization,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level(logging.INFO, logger="hyperrep.request"):
        response = api.post(
            f"{org_path}/contacts", {"name": "Secret Body"}, HTTP_X_REQUEST_ID="req-1"
        )
    assert response.status_code == 200
    [record] = [r for r in caplog.records if r.name == "hyperrep.request"]
    line = JsonLineFormatter().format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["request_id"] == "req-1"
    assert fields["level"] == "INFO"
    assert fields["logger"] == "hyperrep.request"
    assert fields["method"] == "POST"
    assert fields["path"] == f"/api/v2{org_path}/contacts"
    assert fields["route"] == "api/v2/organizations/<organization_id>/contacts"
    assert fields["status"] == 200
    assert fields["duration_ms"] > 0
    assert fields["organization_id"] == organization.public_id
    assert fields["key_prefix"] == api_key.split("_")[1]
    assert api_key not in line
    assert "Secret Body" not in line
    assert fields["message"].startswith(f"POST /api/v2{org_path}/contacts 200 ")


def test_a_crash_as_json_keeps_its_traceback_on_one_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        import sys

        record.exc_info = sys.exc_info()
    RequestIdLogFilter().filter(record)
    line = JsonLineFormatter().format(record)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exc_info"]
