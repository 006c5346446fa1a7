import re
from typing import Any

import pytest
from django.test import Client

from apps.agents.models import Agent
from apps.keys.models import ApiKey
from apps.keys.services import api_key_create, key_digest
from apps.organizations.models import Organization
from tests.factories import AgentFactory, CompanyFactory, ContactFactory, OrganizationFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def test_create_and_deactivate_an_organization(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/organizations/organization/add/", {"name": "Acme", "is_active": "on"}
    )
    assert response.status_code == 302
    organization = Organization.objects.get()
    assert organization.public_id.startswith("org_")

    admin_client.post(
        "/admin/organizations/organization/",
        {"action": "deactivate", "_selected_action": [organization.pk]},
    )
    organization.refresh_from_db()
    assert organization.is_active is False


def test_create_an_api_key_shows_the_plaintext_once(admin_client: Client) -> None:
    acme, other = OrganizationFactory.create(name="Acme"), OrganizationFactory.create()
    response = admin_client.post(
        "/admin/keys/apikey/add/",
        {
            "name": "zapier",
            "organizations": [acme.pk],
            "is_active": "on",
            "read_only": "on",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    key = ApiKey.objects.get()
    assert response.status_code == 302  # post/redirect/get
    assert response["Location"] == f"/admin/keys/apikey/{key.pk}/created/"
    shown = admin_client.get(response["Location"])
    assert "no-store" in shown["Cache-Control"]
    plaintext = re.search(r"hrk_[A-Za-z0-9]{8}_[A-Za-z0-9]{43}", shown.content.decode())
    assert plaintext is not None
    assert key.digest == key_digest(plaintext.group())
    assert key.read_only
    assert list(key.organizations.all()) == [acme]
    assert plaintext.group() not in str(dict(admin_client.session))  # kept encrypted

    reloaded = admin_client.get(response["Location"]).content.decode()
    assert plaintext.group() not in reloaded
    assert "cannot be shown again" in reloaded
    assert ApiKey.objects.count() == 1  # a reload mints nothing

    api = Api(plaintext.group())
    assert [o["name"] for o in api.get("/organizations").json()["data"]] == ["Acme"]
    assert api.get(f"/organizations/{other.public_id}").status_code == 404

    change_page = admin_client.get(f"/admin/keys/apikey/{key.pk}/change/").content.decode()
    assert plaintext.group() not in change_page
    assert plaintext.group()[13:] not in change_page

    admin_client.post("/admin/keys/apikey/", {"action": "deactivate", "_selected_action": [key.pk]})
    assert detail(api.get("/organizations")) == "API Key is inactive"


def test_the_key_list_names_the_organizations_each_key_reaches(admin_client: Client) -> None:
    acme, zenith = (
        OrganizationFactory.create(name="Acme"),
        OrganizationFactory.create(name="Zenith"),
    )
    api_key_create(organizations=[acme, zenith], name="both")
    listing = admin_client.get("/admin/keys/apikey/").content.decode()
    assert "Acme, Zenith" in listing


def test_the_site_is_branded_and_view_site_opens_the_api_reference(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    assert "HyperRep server" in page
    assert 'href="/api/docs"' in page


def test_browse_tenant_rows_per_organization(admin_client: Client) -> None:
    contact = ContactFactory.create(name="Findable Person")
    other = ContactFactory.create(name="Someone Else")
    for path in ["agents/agent", "companies/company", "contacts/contact"]:
        assert admin_client.get(f"/admin/{path}/").status_code == 200
    page = admin_client.get(
        f"/admin/contacts/contact/?organization__id__exact={contact.organization_id}"
    ).content.decode()
    assert "Findable Person" in page
    assert "Someone Else" not in page
    assert admin_client.get(f"/admin/contacts/contact/{other.pk}/change/").status_code == 200


def test_create_an_agent_in_the_admin(admin_client: Client) -> None:
    organization = OrganizationFactory.create()
    response = admin_client.post(
        "/admin/agents/agent/add/",
        {"organization": organization.pk, "name": "New Rep", "email": "rep@example.com"},
    )
    assert response.status_code == 302
    agent = Agent.objects.unscoped().get()
    assert agent.public_id.startswith("agt_")
    assert agent.organization == organization


def test_a_row_never_moves_to_another_organization(admin_client: Client) -> None:
    company = CompanyFactory.create(name="Stays Put")
    elsewhere = OrganizationFactory.create()
    admin_client.post(
        f"/admin/companies/company/{company.pk}/change/",
        {"organization": elsewhere.pk, "name": "Stays Put", "custom_fields": "{}"},
    )
    company.refresh_from_db()
    assert company.organization_id != elsewhere.pk


def test_the_admin_refuses_cross_tenant_relations(admin_client: Client) -> None:
    company = CompanyFactory.create()
    stranger = AgentFactory.create()  # another organization's agent
    response = admin_client.post(
        f"/admin/companies/company/{company.pk}/change/",
        {
            "organization": company.organization_id,
            "name": company.name,
            "agent": stranger.pk,
            "custom_fields": "{}",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Agent of another organization." in response.content.decode()
    company.refresh_from_db()
    assert company.agent != stranger


def test_login_attempts_have_a_budget_per_address(
    django_user_model: Any, settings: Any, client: Client
) -> None:
    settings.ADMIN_LOGIN_RATE_LIMIT = "3/minute"
    django_user_model.objects.create_superuser("owner", "owner@example.com", "right-password")
    wrong = {"username": "owner", "password": "wrong", "next": "/admin/"}
    for _ in range(3):
        assert client.post("/admin/login/", wrong).status_code == 200  # the form, with its error
    refused = client.post("/admin/login/", {**wrong, "password": "right-password"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert client.get("/admin/login/").status_code == 200  # the form itself is not counted
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert other.post("/admin/login/", {**wrong, "password": "right-password"}).status_code == 302
