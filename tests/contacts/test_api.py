from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.contacts.models import Contact
from tests.factories import CompanyFactory, ContactFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def test_contact_shape(api: Api, org_path: str, organization: Any) -> None:
    company = CompanyFactory.create(organization=organization)
    contact = ContactFactory.create(
        organization=organization,
        public_id="legacy.contact=42",  # an imported id of another shape
        name="Ann Lee",
        email="Ann@Example.com",
        phone_number="+15550001",
        company=company,
        company_role="Owner",
        custom_fields={"tier": "gold", "score": 3.5, "vip": True, "note": None},
        created_at=datetime(2026, 3, 12, 0, 32, 13, 782565, tzinfo=UTC),
    )
    expected = {
        "contact_id": "legacy.contact=42",
        "name": "Ann Lee",
        "email": "Ann@Example.com",
        "phone_number": "+15550001",
        "created_at": "2026-03-12T00:32:13.782565Z",
        "company_id": company.public_id,
        "custom_fields": {"tier": "gold", "score": 3.5, "vip": True, "note": None},
        "company_role": "Owner",
    }
    assert api.get(f"{org_path}/contacts/{contact.public_id}").json() == expected
    assert api.get(f"{org_path}/contacts").json()["data"] == [expected]


def test_absent_values_are_null(api: Api, org_path: str, organization: Any) -> None:
    contact = ContactFactory.create(
        organization=organization,
        name=None,
        phone_number=None,
        company=None,
        company_role=None,
        created_at=datetime(2026, 4, 29, 14, tzinfo=UTC),
    )
    body = api.get(f"{org_path}/contacts/{contact.public_id}").json()
    assert body["name"] is None
    assert body["company_id"] is None
    assert body["company_role"] is None
    assert body["custom_fields"] == {}
    assert body["created_at"] == "2026-04-29T14:00:00Z"


def test_contact_detail_errors(api: Api, org_path: str) -> None:
    response = api.get(f"{org_path}/contacts/ctc_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 404
    assert detail(response) == "Contact not found"
    response = api.get(f"{org_path}/contacts/cmp_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 400
    assert detail(response) == "Invalid contact_id"


def test_create_contact(api: Api, org_path: str, organization: Any) -> None:
    company = CompanyFactory.create(organization=organization)
    response = api.post(
        f"{org_path}/contacts",
        {
            "name": "Ann Lee",
            "email": "ann@example.com",
            "phone_number": "+1 (555) 000-1111",
            "company_id": company.public_id,
            "company_role": "Owner",
            "custom_fields": {"source": "web"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["contact_id"].startswith("ctc_")
    assert len(body["contact_id"]) == 26
    assert body["company_id"] == company.public_id
    assert body["custom_fields"] == {"source": "web"}
    stored = Contact.objects.unscoped().get(public_id=body["contact_id"])
    assert stored.organization == organization
    assert api.get(f"{org_path}/contacts/{body['contact_id']}").json() == body


@pytest.mark.parametrize("field", ["name", "email", "phone_number"])
def test_one_of_name_email_phone_is_enough(api: Api, org_path: str, field: str) -> None:
    value = {"name": "Ann", "email": "a@example.com", "phone_number": "+15550001"}[field]
    response = api.post(f"{org_path}/contacts", {field: value})
    assert response.status_code == 200
    assert response.json()[field] == value


@pytest.mark.parametrize("body", [{}, {"company_role": "Owner"}, {"name": None, "email": None}])
def test_create_needs_a_name_email_or_phone(api: Api, org_path: str, body: Any) -> None:
    response = api.post(f"{org_path}/contacts", body)
    assert response.status_code == 422
    assert detail(response) == "At least one of name, email and phone_number is required."
    assert not Contact.objects.unscoped().exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "A", "email": "not-an-email"}, "email: Enter a valid email address."),
        ({"name": "A", "phone_number": "call me"}, "phone_number: Enter a valid phone number."),
        ({"name": "A", "custom_fields": {"k": {"nested": 1}}}, "custom_fields: Values must be"),
        ({"name": "A", "custom_fields": {"": 1}}, "custom_fields: Keys must be 1 to 64"),
        (
            {"name": "A", "custom_fields": {f"k{i}": i for i in range(51)}},
            "custom_fields: At most 50 keys",
        ),
        ({"name": "A", "custom_fields": {"k": "x" * 2001}}, "custom_fields: Values must be"),
        ({"name": "A", "organization_id": "org_x"}, "organization_id: Unknown field."),
        ({"name": "A", "contact_id": "ctc_x"}, "contact_id: Unknown field."),
        ({"name": "A", "created_at": "2026-01-01"}, "created_at: Unknown field."),
        ({"name": "x" * 256}, "name: Ensure this field has no more than 255 characters."),
        (["name"], "Invalid data. Expected a dictionary, but got list."),
    ],
)
def test_create_validation(api: Api, org_path: str, body: Any, message: str) -> None:
    response = api.post(f"{org_path}/contacts", body)
    assert response.status_code == 422
    assert detail(response).startswith(message)
    assert not Contact.objects.unscoped().exists()


@pytest.mark.parametrize("company_id", ["", "agt_3hG5kq2mN8pQ4rS6tU7vW9", "bad id", "cmp_unknown"])
def test_create_with_a_bad_company_id(api: Api, org_path: str, company_id: str) -> None:
    response = api.post(f"{org_path}/contacts", {"name": "A", "company_id": company_id})
    assert response.status_code == 400
    assert detail(response) == "Invalid company_id"
    assert not Contact.objects.unscoped().exists()


def test_create_with_another_tenants_company(
    api: Api, org_path: str, other_organization: Any
) -> None:
    foreign = CompanyFactory.create(organization=other_organization)
    response = api.post(f"{org_path}/contacts", {"name": "A", "company_id": foreign.public_id})
    assert response.status_code == 400
    assert detail(response) == "Invalid company_id"
    assert not Contact.objects.unscoped().exists()


def test_list_is_newest_first(api: Api, org_path: str, organization: Any) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    old, new, newest = (
        ContactFactory.create(organization=organization, created_at=now + timedelta(minutes=m))
        for m in (1, 2, 3)
    )
    ids = [row["contact_id"] for row in api.get(f"{org_path}/contacts").json()["data"]]
    assert ids == [newest.public_id, new.public_id, old.public_id]


def test_list_filters(api: Api, org_path: str, organization: Any) -> None:
    company = CompanyFactory.create(organization=organization)
    ann = ContactFactory.create(
        organization=organization,
        email="Ann@Example.com",
        company=company,
        phone_number="+15550001",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    bob = ContactFactory.create(
        organization=organization,
        email="bob@example.com",
        company=None,
        phone_number="+15550002",
        created_at=datetime(2026, 2, 1, tzinfo=UTC),
    )

    def listed(**params: str) -> list[str]:
        response = api.get(f"{org_path}/contacts", params)
        assert response.status_code == 200, response.json()
        return [row["contact_id"] for row in response.json()["data"]]

    assert listed(email="ann@EXAMPLE.com") == [ann.public_id]
    assert listed(phone_number="+15550002") == [bob.public_id]
    assert listed(company_id=company.public_id) == [ann.public_id]
    assert listed(company_id="cmp_3hG5kq2mN8pQ4rS6tU7vW9") == []
    # start inclusive, end exclusive; bare dates are midnight UTC; offsets are honoured
    assert listed(start_date="2026-01-01") == [bob.public_id, ann.public_id]
    assert listed(start_date="2026-01-01T00:00:00.000001Z") == [bob.public_id]
    assert listed(end_date="2026-02-01") == [ann.public_id]
    assert listed(end_date="2026-02-01T01:00:00+01:00") == [ann.public_id]
    assert listed(start_date="2026-01-31T23:00:00-01:00") == [bob.public_id]
    assert listed(start_date="2026-02-01", end_date="2026-02-01") == []
    assert listed(end_date="2026-02-01T00:00:00") == [ann.public_id]  # naive means UTC
    assert listed(start_date="2026-01-01T00:00:00.000001") == [bob.public_id]
    assert listed(email="ANN@EXAMPLE.COM") == [ann.public_id]
    assert listed(start_date="2030-01-01") == []  # future dates are allowed on lists


def test_an_unencoded_plus_in_an_offset_is_read_as_plus(
    api: Api, org_path: str, organization: Any
) -> None:
    contact = ContactFactory.create(
        organization=organization, created_at=datetime(2026, 1, 1, 12, tzinfo=UTC)
    )
    url = f"/api/v2{org_path}/contacts?start_date=2026-01-01T13:00:00+02:00"  # 11:00 UTC
    body = api.client.get(url, headers={"X-API-KEY": api.key}).json()
    assert [row["contact_id"] for row in body["data"]] == [contact.public_id]


def test_filtering_by_another_organizations_company_is_an_empty_page(
    api: Api, org_path: str, organization: Any, other_organization: Any
) -> None:
    foreign = CompanyFactory.create(organization=other_organization)
    ContactFactory.create(organization=other_organization, company=foreign)
    ContactFactory.create(organization=organization)
    response = api.get(f"{org_path}/contacts", {"company_id": foreign.public_id})
    assert response.json()["data"] == []


def test_email_filter_with_non_ascii_letters(api: Api, org_path: str, organization: Any) -> None:
    contact = ContactFactory.create(organization=organization, email="ÄNNE@Example.com")
    for query in ["ÄNNE@Example.com", "Änne@example.COM"]:
        found = api.get(f"{org_path}/contacts", {"email": query}).json()["data"]
        assert [row["contact_id"] for row in found] == [contact.public_id]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"start_date": "yesterday"}, 422, "start_date: Enter an ISO 8601 date or datetime"),
        ({"end_date": "2026-02-30"}, 422, "end_date: Enter an ISO 8601 date or datetime"),
        ({"start_date": "9999-12-31T23:00:00-01:00"}, 422, "start_date: Enter an ISO 8601"),
        ({"end_date": "0001-01-01T00:00:00+01:00"}, 422, "end_date: Enter an ISO 8601"),
        (
            {"start_date": "2026-02-02", "end_date": "2026-02-01"},
            400,
            "start_date must be less than or equal to end_date",
        ),
        ({"company_id": "ctc_3hG5kq2mN8pQ4rS6tU7vW9"}, 400, "Invalid company_id"),
    ],
)
def test_list_filter_errors(
    api: Api, org_path: str, params: dict[str, str], status: int, message: str
) -> None:
    response = api.get(f"{org_path}/contacts", params)
    assert response.status_code == status
    assert detail(response).startswith(message)
