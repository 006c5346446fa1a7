from datetime import UTC, datetime
from typing import Any

import pytest

from apps.companies.domains import normalize_domain
from apps.companies.models import Company
from tests.factories import AgentFactory, CompanyFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def test_company_shape(api: Api, org_path: str, organization: Any) -> None:
    agent = AgentFactory.create(organization=organization)
    company = CompanyFactory.create(
        organization=organization,
        name="Lee Roofing",
        domain="leeroofing.com",
        address="2 Elm St",
        custom_fields={"tier": "gold"},
        agent=agent,
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    expected = {
        "company_id": company.public_id,
        "name": "Lee Roofing",
        "domain": "leeroofing.com",
        "custom_fields": {"tier": "gold"},
        "address": "2 Elm St",
        "agent_id": agent.public_id,
        "created_at": "2026-03-01T00:00:00Z",
    }
    assert api.get(f"{org_path}/companies/{company.public_id}").json() == expected
    assert api.get(f"{org_path}/companies").json()["data"] == [expected]


def test_company_detail_errors(api: Api, org_path: str) -> None:
    response = api.get(f"{org_path}/companies/cmp_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 404
    assert detail(response) == "Company not found"
    response = api.get(f"{org_path}/companies/ctc_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 400
    assert detail(response) == "Invalid company_id"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("example.com", "example.com"),
        ("  Example.COM ", "example.com"),
        ("https://www.Example.com:8443/about?x=1#top", "www.example.com"),
        ("http://user:pw@shop.example.co.uk/", "shop.example.co.uk"),
        ("//cdn.example.com/x", "cdn.example.com"),
        ("example.com.", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_domain_normalisation(raw: str, normalized: str) -> None:
    assert normalize_domain(raw) == normalized


@pytest.mark.parametrize("raw", ["localhost", "https://intranet/", "exa mple.com", "-x.com", ""])
def test_domains_that_are_not_domains(raw: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        normalize_domain(raw)


def test_create_company(api: Api, org_path: str, organization: Any) -> None:
    agent = AgentFactory.create(organization=organization)
    response = api.post(
        f"{org_path}/companies",
        {
            "name": "Lee Roofing",
            "domain": "HTTPS://LeeRoofing.com/contact",
            "address": "2 Elm St",
            "custom_fields": {"tier": "gold"},
            "agent_id": agent.public_id,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["company_id"].startswith("cmp_")
    assert body["domain"] == "leeroofing.com"
    assert body["agent_id"] == agent.public_id
    assert api.get(f"{org_path}/companies/{body['company_id']}").json() == body


def test_create_company_minimal(api: Api, org_path: str) -> None:
    body = api.post(f"{org_path}/companies", {"name": "Solo"}).json()
    assert body["domain"] is None
    assert body["agent_id"] is None
    assert body["custom_fields"] == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "name: This field is required."),
        ({"name": ""}, "name: This field may not be blank."),
        ({"name": "A", "domain": "localhost"}, "domain: Enter a domain name such as example.com."),
        ({"name": "A", "website": "a.com"}, "website: Unknown field."),
    ],
)
def test_create_company_validation(api: Api, org_path: str, body: Any, message: str) -> None:
    response = api.post(f"{org_path}/companies", body)
    assert response.status_code == 422
    assert detail(response) == message
    assert not Company.objects.unscoped().exists()


def test_agent_must_belong_to_the_organization(
    api: Api, org_path: str, other_organization: Any
) -> None:
    foreign = AgentFactory.create(organization=other_organization)
    for agent_id in [foreign.public_id, "agt_3hG5kq2mN8pQ4rS6tU7vW9", "cmp_3hG5kq2mN8pQ4rS6tU7vW9"]:
        response = api.post(f"{org_path}/companies", {"name": "A", "agent_id": agent_id})
        assert response.status_code == 400
        assert detail(response) == "Invalid agent_id"
    assert not Company.objects.unscoped().exists()
