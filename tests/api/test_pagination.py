from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.contacts.models import Contact
from tests.factories import AgentFactory, CompanyFactory, ContactFactory, OrganizationFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def walk(api: Api, path: str, limit: int, **params: str) -> tuple[list[str], list[dict]]:
    """Every id of the collection, page by page; also the pagination blocks seen."""
    seen, blocks, cursor = [], [], None
    while True:
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        response = api.get(path, query)
        assert response.status_code == 200, response.json()
        body = response.json()
        seen += [next(iter(row.values())) for row in body["data"]]
        blocks.append(body["pagination"])
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            return seen, blocks


def test_pages_visit_every_row_once_in_order(api: Api, org_path: str, organization: Any) -> None:
    # Equal timestamps too: the internal id breaks ties.
    contacts = [
        ContactFactory.create(organization=organization, created_at=T0 + timedelta(minutes=i // 3))
        for i in range(23)
    ]
    expected = [c.public_id for c in sorted(contacts, key=lambda c: (c.created_at, c.pk))][::-1]
    seen, blocks = walk(api, f"{org_path}/contacts", limit=5)
    assert seen == expected
    assert [b["has_more"] for b in blocks] == [True] * 4 + [False]
    assert blocks[0]["cursor"] is None
    assert blocks[1]["cursor"] == blocks[0]["next_cursor"]
    assert all(b["limit"] == 5 for b in blocks)
    assert all((b["next_cursor"] is not None) == b["has_more"] for b in blocks)


def test_exactly_one_full_page_has_no_next(api: Api, org_path: str, organization: Any) -> None:
    ContactFactory.create_batch(5, organization=organization)
    body = api.get(f"{org_path}/contacts", {"limit": "5"}).json()
    assert len(body["data"]) == 5
    assert body["pagination"] == {
        "limit": 5,
        "cursor": None,
        "next_cursor": None,
        "has_more": False,
    }


def test_empty_collection(api: Api, org_path: str) -> None:
    assert api.get(f"{org_path}/contacts").json() == {
        "data": [],
        "pagination": {"limit": 50, "cursor": None, "next_cursor": None, "has_more": False},
    }


def test_rows_inserted_while_paging_never_skip_or_repeat(
    api: Api, org_path: str, organization: Any
) -> None:
    originals = [
        ContactFactory.create(organization=organization, created_at=T0 + timedelta(minutes=i))
        for i in range(12)
    ]
    path, seen, cursor = f"{org_path}/contacts", [], None
    for _page in range(4):
        query = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        body = api.get(path, query).json()
        seen += [row["contact_id"] for row in body["data"]]
        cursor = body["pagination"]["next_cursor"]
        # between pages: a newer row, an older row, and one tied with the page's last row
        # (a larger internal id: it sorts before that row, among the rows already passed)
        last = Contact.objects.unscoped().get(public_id=seen[-1])
        for created_at in (T0 + timedelta(days=1), T0 - timedelta(days=1), last.created_at):
            ContactFactory.create(organization=organization, created_at=created_at)
        if cursor is None:
            break
    original_ids = [c.public_id for c in reversed(originals)]
    assert [i for i in seen if i in set(original_ids)] == original_ids
    assert len(seen) == len(set(seen))


def test_agents_page_by_name_then_id(api: Api, org_path: str, organization: Any) -> None:
    agents = [
        AgentFactory.create(organization=organization, name=f"Rep {i % 4}") for i in range(11)
    ]
    expected = [a.public_id for a in sorted(agents, key=lambda a: (a.name, a.pk))]
    assert walk(api, f"{org_path}/agents", limit=3)[0] == expected


def test_limit_may_change_between_pages(api: Api, org_path: str, organization: Any) -> None:
    ContactFactory.create_batch(6, organization=organization)
    first = api.get(f"{org_path}/contacts", {"limit": "2"}).json()
    rest = api.get(
        f"{org_path}/contacts", {"limit": "10", "cursor": first["pagination"]["next_cursor"]}
    ).json()
    assert len(rest["data"]) == 4


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", " 5", "1e2", "0050"])
def test_limit_outside_1_to_500_is_422(api: Api, org_path: str, limit: str) -> None:
    response = api.get(f"{org_path}/contacts", {"limit": limit})
    assert response.status_code == 422
    assert detail(response) == "limit: Must be an integer from 1 to 500."


def test_empty_limit_and_cursor_are_the_first_page_of_the_default_size(
    api: Api, org_path: str, organization: Any
) -> None:
    ContactFactory.create_batch(3, organization=organization)
    body = api.get(f"{org_path}/contacts", {"limit": "", "cursor": "", "start_date": ""}).json()
    assert body["pagination"] == {
        "limit": 50,
        "cursor": None,
        "next_cursor": None,
        "has_more": False,
    }
    assert len(body["data"]) == 3


def test_an_empty_filter_is_no_filter_for_the_cursor_too(
    api: Api, org_path: str, organization: Any
) -> None:
    ContactFactory.create_batch(3, organization=organization)
    first = api.get(f"{org_path}/contacts", {"limit": "1", "email": ""}).json()
    rest = api.get(f"{org_path}/contacts", {"cursor": first["pagination"]["next_cursor"]})
    assert rest.status_code == 200
    assert len(rest.json()["data"]) == 2


@pytest.mark.parametrize("limit", ["1", "500", "50"])
def test_limit_bounds_are_accepted(api: Api, org_path: str, limit: str) -> None:
    assert api.get(f"{org_path}/contacts", {"limit": limit}).json()["pagination"]["limit"] == int(
        limit
    )


@pytest.fixture
def cursor(api: Api, org_path: str, organization: Any) -> str:
    ContactFactory.create_batch(3, organization=organization, email="same@example.com")
    body = api.get(f"{org_path}/contacts", {"limit": "1", "email": "same@example.com"}).json()
    return str(body["pagination"]["next_cursor"])


def test_a_cursor_works_on_its_own_collection(api: Api, org_path: str, cursor: str) -> None:
    params = {"email": "same@example.com", "cursor": cursor}
    assert len(api.get(f"{org_path}/contacts/", params).json()["data"]) == 2


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"),
        lambda c: c[:20],
        lambda c: "not-a-cursor",
        lambda c: c + "x",
    ],
)
def test_tampered_cursors_are_400(api: Api, org_path: str, cursor: str, mangle: Any) -> None:
    params = {"email": "same@example.com", "cursor": mangle(cursor)}
    response = api.get(f"{org_path}/contacts", params)
    assert response.status_code == 400
    assert detail(response) == "Invalid cursor"


def test_a_cursor_is_bound_to_its_filters(api: Api, org_path: str, cursor: str) -> None:
    for params in [
        {},
        {"email": "other@example.com"},
        {"email": "same@example.com", "phone_number": "+1 555 010 0000"},
    ]:
        response = api.get(f"{org_path}/contacts", {**params, "cursor": cursor})
        assert response.status_code == 400
        assert detail(response) == "Invalid cursor"


def test_a_cursor_is_bound_to_its_collection(api: Api, org_path: str, cursor: str) -> None:
    response = api.get(f"{org_path}/companies", {"cursor": cursor})
    assert response.status_code == 400
    assert detail(response) == "Invalid cursor"


def test_a_cursor_is_bound_to_its_organization(
    make_key: Any, organization: Any, cursor: str
) -> None:
    other = OrganizationFactory.create()
    api = Api(make_key(organization, other))
    response = api.get(
        f"/organizations/{other.public_id}/contacts",
        {"email": "same@example.com", "cursor": cursor},
    )
    assert response.status_code == 400
    assert detail(response) == "Invalid cursor"


def test_companies_page_newest_first(api: Api, org_path: str, organization: Any) -> None:
    companies = [
        CompanyFactory.create(organization=organization, created_at=T0 + timedelta(hours=i % 2))
        for i in range(7)
    ]
    expected = [c.public_id for c in sorted(companies, key=lambda c: (c.created_at, c.pk))][::-1]
    assert walk(api, f"{org_path}/companies", limit=2)[0] == expected
