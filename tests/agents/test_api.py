from typing import Any

import pytest

from tests.factories import AgentFactory
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def test_agents_by_name(api: Api, org_path: str, organization: Any) -> None:
    carol, alice, bob = (
        AgentFactory.create(organization=organization, name=n, email=f"{n.lower()}@example.com")
        for n in ("Carol", "Alice", "Bob")
    )
    twin = AgentFactory.create(organization=organization, name="Alice", email=None)
    body = api.get(f"{org_path}/agents").json()
    assert [row["agent_id"] for row in body["data"]] == [
        alice.public_id,
        twin.public_id,
        bob.public_id,
        carol.public_id,
    ]
    assert body["data"][1] == {"agent_id": twin.public_id, "name": "Alice", "email": None}
    assert api.get(f"{org_path}/agents/{bob.public_id}").json() == {
        "agent_id": bob.public_id,
        "name": "Bob",
        "email": "bob@example.com",
    }


def test_agent_detail_errors(api: Api, org_path: str) -> None:
    response = api.get(f"{org_path}/agents/agt_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 404
    assert detail(response) == "Agent not found"
    response = api.get(f"{org_path}/agents/sal_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 400
    assert detail(response) == "Invalid agent_id"


def test_agents_cannot_be_written_through_the_api(api: Api, org_path: str) -> None:
    response = api.post(f"{org_path}/agents", {"name": "New"})
    assert response.status_code == 405
