"""The admin shows endpoints with their recent deliveries, re-enables them and sends failed
deliveries again."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.organizations.models import Organization
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from apps.webhooks.services import endpoint_create
from hyperrep import ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_an_endpoints_page_shows_its_deliveries_and_the_actions_work(
    admin_client: Client, organization: Organization
) -> None:
    endpoint, _secret = endpoint_create(
        organization=organization, url="https://93.184.216.34/hook", events=["*"]
    )
    Delivery.objects.create(
        organization=organization,
        endpoint=endpoint,
        event_id=ids.mint("evt"),
        event_type="contact.created",
        body="{}",
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_status_code=503,
        last_error="HTTP 503",
    )
    Endpoint.objects.unscoped().update(enabled=False)
    page = admin_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert b"HTTP 503" in page.content
    for action in ("enable", "retry_failed"):
        response = admin_client.post(
            "/admin/webhooks/endpoint/", {"action": action, "_selected_action": [endpoint.pk]}
        )
        assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled is True
    delivery = Delivery.objects.unscoped().get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at is not None
    assert admin_client.get("/admin/webhooks/delivery/").status_code == 200


def test_a_contact_added_in_the_admin_is_an_event(
    admin_client: Client, organization: Organization
) -> None:
    endpoint_create(organization=organization, url="https://93.184.216.34/hook", events=["*"])
    response = admin_client.post(
        "/admin/contacts/contact/add/",
        {"organization": organization.pk, "name": "Ann", "custom_fields": "{}"},
    )
    assert response.status_code == 302, response.content[:2000]
    delivery = Delivery.objects.unscoped().get()
    assert delivery.event_type == "contact.created"
    assert '"name":"Ann"' in delivery.body
