"""Schema fuzzing (schemathesis): every operation of the served OpenAPI document is called
with values generated from its schema, valid and invalid, in process through the WSGI
application, and every answer is checked: no 5xx, every status and content type declared,
every body of the declared shape, invalid requests refused, undeclared methods 405.

Valid cases reach real rows (the organization's ids, a key); invalid ones keep whatever
schemathesis broke. One check is left out: that every schema-valid request succeeds. Some
rules cannot be said in OpenAPI (a domain must normalize to a name with a dot, a phone
number must be a possible number, `to_phone_number` is required for text drafts only, an
analytics window may not reach into the future), and refusing those with their documented
400 or 422 is right."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation

from apps.organizations.models import ChannelKind, Organization
from hyperrep.wsgi import application
from tests.factories import ChannelFactory
from tests.security.tenants import make_tenant

schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", application)


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Calls go straight to the WSGI application, whose end of request would close the
    test's database connection (Django's own test client switches that off too)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def tenant(
    organization: Organization, api_key: str, keep_the_test_connection: None
) -> tuple[dict[str, str], str]:
    objects = make_tenant(organization)
    for kind in (ChannelKind.EMAIL, ChannelKind.TEXT):
        ChannelFactory.create(organization=organization, kind=kind)
    ids = {name: row.public_id for name, row in objects.items()}
    return {"organization_id": organization.public_id, **ids}, api_key


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_keeps_to_its_schema(case: Any, tenant: tuple[dict, str]) -> None:
    ids, key = tenant
    if case.meta is None or not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters = {
            name: ids.get(name, value) for name, value in (case.path_parameters or {}).items()
        }
    headers = {}
    if case.meta is None or not case.meta.is_negative_at(ParameterLocation.HEADER):
        headers = {"X-API-KEY": key}
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
