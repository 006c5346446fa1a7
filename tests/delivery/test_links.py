"""Tracked links: only an email's http(s) links are rewritten, the rest of its HTML goes out as
written, and GET /l/<id> counts a click and redirects only to the URL stored for that link."""

from typing import Any

import pytest
from django.test import Client

from apps.delivery.links import track
from tests.factories import MessageFactory, TrackedLinkFactory
from tests.helpers import detail

PUBLIC = "https://hyperrep.example.com"


@pytest.fixture
def public_url(settings: Any) -> None:
    settings.PUBLIC_URL = PUBLIC


def test_only_http_links_are_rewritten_and_the_rest_is_kept(public_url: None) -> None:
    html = (
        "<p>Dear Ann,</p>\n<p><a class=x HREF='https://a.example/q?x=1&amp;y=2'>quote</a>, "
        '<a href="mailto:sales@acme.example">mail</a>, <a href="#top">top</a>, '
        '<a href=http://b.example/>site</a>\n<A href="tel:+15550100">call</A></p>'
    )
    out, links = track(html, message_public_id="msg_fixed")
    first, second = (identifier for identifier, _url in links)
    assert links == [(first, "https://a.example/q?x=1&y=2"), (second, "http://b.example/")]
    assert out == (
        f'<p>Dear Ann,</p>\n<p><a class=x HREF="{PUBLIC}/l/{first}">quote</a>, '
        '<a href="mailto:sales@acme.example">mail</a>, <a href="#top">top</a>, '
        f'<a href="{PUBLIC}/l/{second}">site</a>\n<A href="tel:+15550100">call</A></p>'
    )


def test_link_ids_are_the_same_on_every_attempt_of_a_message(public_url: None) -> None:
    html = '<a href="https://a.example/">a</a>'
    again = track(html, message_public_id="msg_fixed")
    assert track(html, message_public_id="msg_fixed") == again
    assert track(html, message_public_id="msg_other")[1] != again[1]
    assert again[1][0][0].startswith("lnk_")
    assert len(again[1][0][0]) == 26


def test_without_public_url_nothing_is_tracked(settings: Any) -> None:
    settings.PUBLIC_URL = ""
    html = '<a href="https://a.example/">a</a>'
    assert track(html, message_public_id="msg_fixed") == (html, [])


@pytest.mark.django_db
def test_following_a_link_counts_the_click_and_redirects_to_its_url(client: Client) -> None:
    link = TrackedLinkFactory.create(url="https://acme.example/quote/7")
    for clicks in (1, 2):
        response = client.get(f"/l/{link.public_id}")
        assert response.status_code == 302
        assert response["Location"] == "https://acme.example/quote/7"
        link.refresh_from_db()
        assert link.click_count == clicks
    assert client.head(f"/l/{link.public_id}").status_code == 302
    link.refresh_from_db()
    assert link.click_count == 2  # a HEAD is nobody's click


@pytest.mark.django_db
@pytest.mark.parametrize("link_id", ["lnk_nosuchlink", "ctc_wrongtype", "a%00b", "x" * 300])
def test_an_unknown_link_is_the_json_404(client: Client, link_id: str) -> None:
    response = client.get(f"/l/{link_id}")
    assert response.status_code == 404
    assert detail(response) == "Not found"


@pytest.mark.django_db
def test_each_link_leads_only_to_its_own_url(client: Client) -> None:
    ours = TrackedLinkFactory.create(url="https://ours.example/")
    theirs = TrackedLinkFactory.create(url="https://theirs.example/")  # another organization's
    assert ours.organization_id != theirs.organization_id
    for link, url in ((ours, "https://ours.example/"), (theirs, "https://theirs.example/")):
        response = client.get(f"/l/{link.public_id}?next=https://evil.example/")
        assert response["Location"] == url


@pytest.mark.django_db
def test_a_stored_url_that_is_not_http_is_not_followed(client: Client) -> None:
    link = TrackedLinkFactory.create(url="javascript:alert(1)")  # imported as it was
    assert client.get(f"/l/{link.public_id}").status_code == 404


@pytest.mark.django_db
def test_an_id_two_organizations_share_is_nobodys(client: Client) -> None:
    TrackedLinkFactory.create(public_id="lnk-7", url="https://a.example/")
    TrackedLinkFactory.create(public_id="lnk-7", url="https://b.example/")
    assert client.get("/l/lnk-7").status_code == 404


@pytest.mark.django_db
def test_only_get_follows_a_link(client: Client) -> None:
    link = TrackedLinkFactory.create(message=MessageFactory.create())
    response = client.post(f"/l/{link.public_id}")
    assert response.status_code == 405
    assert detail(response) == 'Method "POST" not allowed.'
