from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.sales.models import SaleStatus, SaleStatusChange
from tests.factories import (
    AgentFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    SaleContactFactory,
    SaleConversationFactory,
    SaleFactory,
)
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 12, 0, 32, 13, 782565, tzinfo=UTC)


def sale_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sale_id"] for row in response.json()["data"]]


def test_sale_shape(api: Api, org_path: str, organization: Any) -> None:
    agent = AgentFactory.create(organization=organization)
    company = CompanyFactory.create(organization=organization)
    primary, other = ContactFactory.create_batch(2, organization=organization)
    first, second = ConversationFactory.create_batch(2, organization=organization)
    quote = {
        "output": {"currency": "USD", "total_price": "1200.00"},
        "arguments": {
            "products": [{"quantity": 2, "unit_price": "600.00", "product_name": "Gutter"}]
        },
        "agent_overrides": {"discount": "0.00"},
    }
    sale = SaleFactory.create(
        organization=organization,
        public_id="deal-9",
        company=company,
        owner=agent,
        quote_details=quote,
        custom_fields={"source": "web"},
        created_at=T0,
        last_activity_at=T0 + timedelta(days=2),
    )
    SaleContactFactory.create(sale=sale, contact=primary, is_primary=True)
    SaleContactFactory.create(sale=sale, contact=other)
    for conversation in (second, first):  # listed in the order linked
        SaleConversationFactory.create(sale=sale, conversation=conversation)
    SaleStatusChange.objects.create(
        organization=organization,
        sale=sale,
        label="Site visit",
        status=None,
        changed_at=T0 + timedelta(days=1),
    )
    SaleStatusChange.objects.create(
        organization=organization,
        sale=sale,
        label="Accepted",
        status=SaleStatus.ACCEPTED,
        changed_at=T0 + timedelta(days=2),
    )
    history = [
        {
            "label": "Quote sent",
            "status": "quote_sent",
            "changed_at": "2026-03-12T00:32:13.782565Z",
        },
        {"label": "Site visit", "status": None, "changed_at": "2026-03-13T00:32:13.782565Z"},
        {"label": "Accepted", "status": "accepted", "changed_at": "2026-03-14T00:32:13.782565Z"},
    ]
    expected = {
        "sale_id": "deal-9",
        "associated_conversation_ids": [second.public_id, first.public_id],
        "company_id": company.public_id,
        "owner_id": agent.public_id,
        "associated_contacts": [
            {"contact_id": primary.public_id, "is_primary": True},
            {"contact_id": other.public_id, "is_primary": False},
        ],
        "quote_details": quote,
        "custom_fields": {"source": "web"},
        "current_status": history[-1],
        "status_history": history,
        "created_at": "2026-03-12T00:32:13.782565Z",
        "last_activity_at": "2026-03-14T00:32:13.782565Z",
    }
    assert api.get(f"{org_path}/sales/deal-9").json() == expected
    assert api.get(f"{org_path}/sales").json()["data"] == [expected]


def test_sale_without_relations(api: Api, org_path: str, organization: Any) -> None:
    sale = SaleFactory.create(organization=organization, company=None, owner=None)
    sale.status_changes.all().delete()
    body = api.get(f"{org_path}/sales/{sale.public_id}").json()
    assert body["company_id"] is None
    assert body["owner_id"] is None
    assert body["associated_contacts"] == []
    assert body["associated_conversation_ids"] == []
    assert body["current_status"] is None
    assert body["status_history"] == []


def test_draft_sales_never_appear(api: Api, org_path: str, organization: Any) -> None:
    agent = AgentFactory.create(organization=organization)
    shown = SaleFactory.create(organization=organization, owner=agent)
    draft = SaleFactory.create(organization=organization, owner=agent, is_draft=True)
    assert sale_ids(api.get(f"{org_path}/sales")) == [shown.public_id]
    assert sale_ids(api.get(f"{org_path}/agents/{agent.public_id}/sales")) == [shown.public_id]
    response = api.get(f"{org_path}/sales/{draft.public_id}")
    assert response.status_code == 404
    assert detail(response) == "Sale not found"


def test_sales_newest_first_with_dates(api: Api, org_path: str, organization: Any) -> None:
    made = [
        SaleFactory.create(organization=organization, created_at=T0 + timedelta(days=d))
        for d in range(3)
    ]
    assert sale_ids(api.get(f"{org_path}/sales")) == [s.public_id for s in reversed(made)]
    window = {
        "start_date": "2026-03-13T00:32:13.782565Z",
        "end_date": "2026-03-14T00:32:13.782565Z",
    }
    assert sale_ids(api.get(f"{org_path}/sales", window)) == [made[1].public_id]
    response = api.get(f"{org_path}/sales", {"start_date": "2026-03-15", "end_date": "2026-03-14"})
    assert response.status_code == 400
    assert detail(response) == "start_date must be less than or equal to end_date"


def test_agent_sales_are_the_ones_it_owns(api: Api, org_path: str, organization: Any) -> None:
    agent, other = AgentFactory.create_batch(2, organization=organization)
    owned = [
        SaleFactory.create(
            organization=organization, owner=agent, created_at=T0 + timedelta(days=d)
        )
        for d in range(2)
    ]
    SaleFactory.create(organization=organization, owner=other)
    path = f"{org_path}/agents/{agent.public_id}/sales"
    assert sale_ids(api.get(path)) == [owned[1].public_id, owned[0].public_id]
    assert sale_ids(api.get(path, {"end_date": "2026-03-13"})) == [owned[0].public_id]
    response = api.get(f"{org_path}/agents/agt_3hG5kq2mN8pQ4rS6tU7vW9/sales")
    assert response.status_code == 404
    assert detail(response) == "Agent not found"


def test_sale_detail_errors(api: Api, org_path: str) -> None:
    response = api.get(f"{org_path}/sales/sal_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 404
    assert detail(response) == "Sale not found"
    response = api.get(f"{org_path}/sales/msg_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 400
    assert detail(response) == "Invalid sale_id"
