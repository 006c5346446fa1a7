"""Inbound web forms: urlencoded and JSON, the honeypot, limits, files, redirects, CORS."""

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.conversations.models import Message, Modality
from apps.inbound.models import EventStatus, InboundEvent
from apps.organizations.models import Channel, Organization
from tests.factories import ContactFactory
from tests.inbound.conftest import only_event, process, received

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"
FIELDS = {"name": "Ann Lee", "email": "ann@example.com", "message": "A quote for a roof, please"}


def route(channels: dict[str, Channel]) -> str:
    return f"/inbound/form/{channels['form'].inbound_token}"


def test_an_urlencoded_form_becomes_a_form_message(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    response = client.post(route(channels), urlencode(FIELDS), content_type=FORM)
    assert response.status_code == 202
    process()
    message = received()
    assert message.modality == Modality.FORM
    assert message.is_form_request is True
    assert message.form_request_body == FIELDS
    assert (
        message.content
        == "name: Ann Lee\nemail: ann@example.com\nmessage: A quote for a roof, please"
    )
    contact = message.conversation.contact
    assert (contact.name, contact.email) == ("Ann Lee", "ann@example.com")


def test_a_json_form_from_an_allowed_origin_gets_cors_headers(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    known = ContactFactory.create(organization=organization, phone_number="+15135550111")
    preflight = client.options(route(channels), HTTP_ORIGIN="https://acme.example")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://acme.example"
    assert preflight["Access-Control-Allow-Methods"] == "POST"
    body = {"phone": "(513) 555-0111", "services": ["roof", "gutters"]}
    response = client.post(
        route(channels),
        json.dumps(body),
        content_type="application/json",
        HTTP_ORIGIN="https://acme.example",
    )
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == "https://acme.example"
    process()
    message = received()
    assert message.form_request_body == body
    assert message.conversation.contact == known  # every form: a new conversation
    assert message.conversation.messages.count() == 1


def test_another_origin_gets_no_cors_headers(client: Client, channels: dict[str, Channel]) -> None:
    preflight = client.options(route(channels), HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in preflight


def test_the_honeypot_is_answered_as_success_and_stored_as_spam(
    client: Client, channels: dict[str, Channel]
) -> None:
    response = client.post(
        route(channels),
        urlencode({**FIELDS, "hp_website": "http://spam.example"}),
        content_type=FORM,
    )
    assert response.status_code == 202
    process()
    assert only_event().status == EventStatus.SPAM
    assert Message.objects.unscoped().count() == 0


def test_a_redirect_to_the_posting_site_is_303(
    client: Client, channels: dict[str, Channel]
) -> None:
    response = client.post(
        route(channels),
        urlencode({**FIELDS, "redirect": "/thanks"}),
        content_type=FORM,
        HTTP_REFERER="https://www.roofing.example/contact",
    )
    assert response.status_code == 303
    assert response["Location"] == "https://www.roofing.example/thanks"
    process()
    assert "redirect" not in received().form_request_body


def test_a_redirect_to_another_site_is_refused(
    client: Client, channels: dict[str, Channel]
) -> None:
    response = client.post(
        route(channels),
        urlencode({**FIELDS, "redirect": "https://evil.example/phish"}),
        content_type=FORM,
        HTTP_REFERER="https://www.roofing.example/contact",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "redirect must lead to the site that sent the form (the form was received)"
    }
    process()
    assert received().form_request_body == FIELDS  # not redirected, and no lead lost


def test_a_redirect_to_an_allowed_origin_is_followed(
    client: Client, channels: dict[str, Channel]
) -> None:
    response = client.post(
        route(channels),
        urlencode({**FIELDS, "redirect": "https://acme.example/thanks"}),
        content_type=FORM,
    )
    assert response.status_code == 303


def test_a_file_is_415(client: Client, channels: dict[str, Channel]) -> None:
    upload = SimpleUploadedFile("cv.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = client.post(route(channels), {**FIELDS, "attachment": upload})
    assert response.status_code == 415
    assert response.json() == {
        "detail": "Post the form urlencoded or as JSON: files are not accepted"
    }
    assert InboundEvent.objects.unscoped().count() == 0


def test_an_oversized_form_is_413(
    client: Client, channels: dict[str, Channel], settings: Any
) -> None:
    settings.INBOUND_FORM_MAX_BYTES = 1000
    response = client.post(route(channels), urlencode({"message": "x" * 2000}), content_type=FORM)
    assert response.status_code == 413
    assert response.json() == {"detail": "A form is at most 1000 bytes"}


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        ("{not json", "application/json", "the body is not JSON: "),
        ("[1, 2]", "application/json", "the body must be a JSON object of the form's fields"),
        ("email=not-an-address", FORM, "email is not an email address: not-an-address"),
    ],
)
def test_a_form_that_cannot_be_read_is_400_and_kept(
    client: Client, channels: dict[str, Channel], body: str, content_type: str, detail: str
) -> None:
    response = client.post(route(channels), body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert only_event().status == EventStatus.REFUSED


def test_the_token_budget_is_429(
    client: Client, channels: dict[str, Channel], settings: Any
) -> None:
    settings.INBOUND_RATE_LIMIT = "2/minute"
    answers = [
        client.post(route(channels), urlencode(FIELDS), content_type=FORM).status_code
        for _ in range(3)
    ]
    assert answers == [202, 202, 429]
    limited = client.post(route(channels), urlencode(FIELDS), content_type=FORM)
    assert limited.json() == {"detail": "Rate limit exceeded"}
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_what_a_contact_cannot_hold_stays_a_field_only(
    client: Client, channels: dict[str, Channel]
) -> None:
    fields = {"name": "N" * 300, "phone": "call me maybe", "message": "roof\x00leak"}
    response = client.post(route(channels), json.dumps(fields), content_type="application/json")
    assert response.status_code == 202
    process()
    message = received()
    contact = message.conversation.contact
    assert (contact.name, contact.phone_number) == ("N" * 255, None)
    assert message.form_request_body == {**fields, "message": "roofleak"}


def test_an_empty_form_is_400(client: Client, channels: dict[str, Channel]) -> None:
    response = client.post(route(channels), b"", content_type=FORM, CONTENT_TYPE=FORM)
    assert response.status_code == 400
    assert response.json() == {"detail": "the form has no fields"}


def test_a_declared_charset_is_read(client: Client, channels: dict[str, Channel]) -> None:
    body = "name=Caf%E9"
    response = client.post(route(channels), body, content_type=f"{FORM}; charset=iso-8859-1")
    assert response.status_code == 202
    process()
    assert received().conversation.contact.name == "Café"


def test_a_relative_redirect_without_a_referer_goes_to_the_one_origin(
    client: Client, channels: dict[str, Channel]
) -> None:
    body = urlencode({**FIELDS, "redirect": "/thanks.html"})
    response = client.post(route(channels), body, content_type=FORM)
    assert response.status_code == 303
    assert response["Location"] == "https://acme.example/thanks.html"
