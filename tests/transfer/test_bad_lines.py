"""One bad line rejects the whole file: `line N: <reason>`, and nothing is written."""

import copy
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError

from apps.contacts.models import Contact
from apps.conversations.models import Message
from apps.organizations.models import Organization
from apps.sales.models import Sale
from tests.factories import ContactFactory, OrganizationFactory
from tests.transfer.helpers import ORG_ID, dumps, fixture_lines, import_file, write_lines

pytestmark = pytest.mark.django_db

LINES = fixture_lines()
AGENT_LINE = 2  # 1-based line numbers in the fixture
CONTACT_LINE = 7  # lead-42
CONVERSATION_LINE = 9  # the first conversation
MESSAGE_LINE = 13  # m-2, with tracked links
SALE_LINE = 18  # the first sale


def line_no(public_id: str) -> int:
    return next(n for n, line in enumerate(LINES, 1) if public_id in line.values())


def test_line_numbers_above_match_the_fixture() -> None:
    assert LINES[AGENT_LINE - 1]["type"] == "agent"
    assert LINES[CONTACT_LINE - 1]["contact_id"] == "lead-42"
    assert LINES[CONVERSATION_LINE - 1]["type"] == "conversation"
    assert LINES[MESSAGE_LINE - 1]["message_id"] == "m-2"
    assert LINES[SALE_LINE - 1]["type"] == "sale"


def rejected(tmp_path: Path, lines: list[Any]) -> str:
    path = write_lines(tmp_path / "bad.jsonl", lines)
    before = Organization.objects.count()
    with pytest.raises(CommandError) as error:
        import_file(path)
    # Nothing of the file was written, not even the lines before the bad one.
    assert Organization.objects.count() == before
    assert not Organization.objects.filter(public_id=ORG_ID).exists()
    assert not Message.objects.unscoped().exists()
    return str(error.value)


def changed(index: int, **changes: Any) -> list[Any]:
    """The fixture with line `index` (1-based) changed; a value of ... deletes the key."""
    lines: list[Any] = copy.deepcopy(LINES)
    for key, value in changes.items():
        if value is ...:
            del lines[index - 1][key]
        else:
            lines[index - 1][key] = value
    return lines


def test_invalid_json(tmp_path: Path) -> None:
    lines: list[Any] = [*LINES[:3], '{"type": "agent",', *LINES[3:]]
    assert rejected(tmp_path, lines).startswith("line 4: invalid JSON: ")


def test_not_an_object(tmp_path: Path) -> None:
    assert rejected(tmp_path, [*LINES, "[1, 2]"]) == (
        f"line {len(LINES) + 1}: invalid JSON: a line must be one JSON object"
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "1e999"])
def test_numbers_no_column_can_hold(tmp_path: Path, constant: str) -> None:
    line = dumps(LINES[CONTACT_LINE - 1]).replace(
        '"custom_fields":{}', f'"custom_fields":{{"x":{constant}}}'
    )
    lines: list[Any] = [*LINES[: CONTACT_LINE - 1], line, *LINES[CONTACT_LINE:]]
    assert rejected(tmp_path, lines).startswith(f"line {CONTACT_LINE}: invalid JSON: ")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(dumps(LINES[0]).encode() + b"\n" + b'{"type": "agent", "name": "\xff"}\n')
    with pytest.raises(CommandError, match=r"^line 2: invalid UTF-8"):
        import_file(path)
    assert not Organization.objects.exists()


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_text_no_database_can_hold(tmp_path: Path, escape: str) -> None:
    line = dumps(LINES[CONTACT_LINE - 1]).replace(
        '"company_role":null', f'"company_role":"a{escape}"'
    )
    lines: list[Any] = [*LINES[: CONTACT_LINE - 1], line, *LINES[CONTACT_LINE:]]
    assert rejected(tmp_path, lines).startswith(f"line {CONTACT_LINE}: bad value: ")


def test_unknown_type(tmp_path: Path) -> None:
    message = rejected(tmp_path, changed(AGENT_LINE, type="widget"))
    assert message == f'line {AGENT_LINE}: unknown type "widget"'


def test_missing_type(tmp_path: Path) -> None:
    message = rejected(tmp_path, changed(AGENT_LINE, type=...))
    assert message == f'line {AGENT_LINE}: missing field "type"'


@pytest.mark.parametrize(
    ("index", "key"),
    [
        (AGENT_LINE, "email"),
        (CONTACT_LINE, "organization_id"),
        (CONVERSATION_LINE, "folder"),
        (MESSAGE_LINE, "tracked_links"),
        (SALE_LINE, "status_history"),
    ],
)
def test_missing_field(tmp_path: Path, index: int, key: str) -> None:
    assert (
        rejected(tmp_path, changed(index, **{key: ...})) == f'line {index}: missing field "{key}"'
    )


def test_missing_nested_field(tmp_path: Path) -> None:
    lines = changed(MESSAGE_LINE)
    del lines[MESSAGE_LINE - 1]["email_metadata"]["cc_emails"]
    assert rejected(tmp_path, lines) == (
        f'line {MESSAGE_LINE}: missing field "email_metadata.cc_emails"'
    )


def test_unknown_field(tmp_path: Path) -> None:
    assert rejected(tmp_path, changed(CONTACT_LINE, nickname="Lee")) == (
        f'line {CONTACT_LINE}: unknown field "nickname"'
    )


def test_unknown_nested_field(tmp_path: Path) -> None:
    lines = changed(MESSAGE_LINE)
    lines[MESSAGE_LINE - 1]["tracked_links"][0]["title"] = "Quote"
    assert rejected(tmp_path, lines) == (
        f'line {MESSAGE_LINE}: unknown field "tracked_links[0].title"'
    )


def test_draft_flag_only_on_sales(tmp_path: Path) -> None:
    assert rejected(tmp_path, changed(CONTACT_LINE, is_draft=True)) == (
        f'line {CONTACT_LINE}: unknown field "is_draft"'
    )


@pytest.mark.parametrize(
    ("index", "key", "value"),
    [
        (CONTACT_LINE, "company_id", "acct-9999"),
        (CONVERSATION_LINE, "contact_id", "nobody"),
        (MESSAGE_LINE, "conversation_id", "thread_404"),
        (MESSAGE_LINE, "agent_id", "rep-404"),
    ],
)
def test_bad_reference(tmp_path: Path, index: int, key: str, value: str) -> None:
    assert rejected(tmp_path, changed(index, **{key: value})).startswith(
        f'line {index}: bad reference: {key} "{value}" is not a'
    )


def test_reference_to_a_later_line(tmp_path: Path) -> None:
    # The company of the first contact comes after it.
    lines = [LINES[0], LINES[CONTACT_LINE - 2], *LINES[1:]]
    assert rejected(tmp_path, lines).startswith("line 2: bad reference: company_id")


def test_reference_to_a_sales_list_item(tmp_path: Path) -> None:
    lines = changed(SALE_LINE)
    lines[SALE_LINE - 1]["associated_contacts"][1]["contact_id"] = "ghost"
    assert rejected(tmp_path, lines).startswith(
        f'line {SALE_LINE}: bad reference: associated_contacts[1].contact_id "ghost"'
    )


def test_reference_to_a_row_of_another_organization(tmp_path: Path) -> None:
    other = OrganizationFactory.create(name="Zenith Plumbing")
    ContactFactory.create(organization=other, public_id="zenith-contact")
    message = rejected(tmp_path, changed(CONVERSATION_LINE, contact_id="zenith-contact"))
    assert message.startswith(
        f'line {CONVERSATION_LINE}: bad reference: contact_id "zenith-contact" is not a contact'
    )
    assert Contact.objects.for_org(other).count() == 1  # untouched


def test_unknown_organization(tmp_path: Path) -> None:
    message = rejected(tmp_path, changed(AGENT_LINE, organization_id="org_unknown"))
    assert message.startswith(f'line {AGENT_LINE}: bad reference: organization_id "org_unknown"')


def test_line_of_another_organization_than_its_references(tmp_path: Path) -> None:
    """A line that names another (existing) organization resolves its references there."""
    other = OrganizationFactory.create(name="Zenith Plumbing")
    message = rejected(tmp_path, changed(CONTACT_LINE, organization_id=other.public_id))
    assert message.startswith(f'line {CONTACT_LINE}: bad reference: company_id "acct.0042"')


@pytest.mark.parametrize(
    ("index", "changes", "reason"),
    [
        (AGENT_LINE, {"email": "not-an-email"}, 'bad value: email "not-an-email"'),
        (AGENT_LINE, {"name": 42}, "bad value: name must be a string"),
        (AGENT_LINE, {"name": " "}, "bad value: name must not be blank"),
        (CONTACT_LINE, {"custom_fields": {"k": [1]}}, "bad value: custom_fields: Values must"),
        (CONTACT_LINE, {"custom_fields": []}, "bad value: custom_fields: Must be a JSON object."),
        (CONTACT_LINE, {"created_at": "2025-02-02"}, 'bad value: created_at "2025-02-02" is not'),
        (CONTACT_LINE, {"created_at": "2025-02-02T12:00:00"}, "bad value: created_at"),
        (CONTACT_LINE, {"created_at": "2025-02-30T12:00:00Z"}, "bad value: created_at"),
        (CONVERSATION_LINE, {"folder": "Sales Follow Up"}, "bad value: folder"),
        (CONVERSATION_LINE, {"is_read": "yes"}, "bad value: is_read must be true or false"),
        (CONVERSATION_LINE, {"contact_id": None}, "bad value: contact_id must not be null"),
        (MESSAGE_LINE, {"modality": "fax"}, 'bad value: modality "fax" is not one of'),
        (MESSAGE_LINE, {"message_direction": "out"}, "bad value: message_direction"),
        (MESSAGE_LINE, {"call_metadata": {"duration": -1}}, "bad value: call_metadata.duration"),
        (MESSAGE_LINE, {"call_metadata": {"duration": 1.5}}, "bad value: call_metadata.duration"),
        (MESSAGE_LINE, {"form_request_body": [1]}, "bad value: form_request_body must be"),
        (MESSAGE_LINE, {"tracked_links": {}}, "bad value: tracked_links must be a list"),
        (SALE_LINE, {"is_draft": "no"}, "bad value: is_draft must be true or false"),
        (SALE_LINE, {"associated_conversation_ids": "thread_9"}, "bad value: associated_conv"),
    ],
)
def test_bad_value(tmp_path: Path, index: int, changes: dict[str, Any], reason: str) -> None:
    assert rejected(tmp_path, changed(index, **changes)).startswith(f"line {index}: {reason}")


@pytest.mark.parametrize(
    ("price", "ok"),
    [("12.345", False), (12.345, False), ("1e3", False), (True, False), ("12.5", True)],
)
def test_money(tmp_path: Path, price: Any, ok: bool) -> None:
    lines = changed(SALE_LINE)
    lines[SALE_LINE - 1]["quote_details"]["output"]["total_price"] = price
    if ok:
        write_lines(tmp_path / "ok.jsonl", lines)
        import_file(tmp_path / "ok.jsonl")
        assert Sale.objects.unscoped().filter(quote_details__output__total_price="12.50").exists()
    else:
        assert rejected(tmp_path, lines).startswith(
            f"line {SALE_LINE}: bad value: quote_details.output.total_price"
        )


def test_quote_details_shape(tmp_path: Path) -> None:
    lines = changed(SALE_LINE)
    del lines[SALE_LINE - 1]["quote_details"]["arguments"]["products"][0]["quantity"]
    assert rejected(tmp_path, lines) == (
        f'line {SALE_LINE}: missing field "quote_details.arguments.products[0].quantity"'
    )


def test_duplicates_inside_a_line(tmp_path: Path) -> None:
    lines = changed(MESSAGE_LINE)
    links = lines[MESSAGE_LINE - 1]["tracked_links"]
    links[1]["link_id"] = links[0]["link_id"]
    assert "appears twice" in rejected(tmp_path, lines)


def test_a_link_id_of_another_message(tmp_path: Path) -> None:
    lines = changed(MESSAGE_LINE + 1)  # m-3 takes m-2's link id
    lines[MESSAGE_LINE]["tracked_links"] = [
        {"link_id": "promo.link-2", "url": "https://acme.example/x", "click_count": 0}
    ]
    message = rejected(tmp_path, lines)
    assert message.startswith(f'line {MESSAGE_LINE + 1}: bad value: link_id "promo.link-2"')


# -- derived fields that disagree -----------------------------------------------------------


def test_is_form_request_disagreeing(tmp_path: Path) -> None:
    assert rejected(tmp_path, changed(MESSAGE_LINE, is_form_request=True)).startswith(
        f'line {MESSAGE_LINE}: bad value: is_form_request true disagrees with modality "email"'
    )


def test_current_status_disagreeing(tmp_path: Path) -> None:
    history = LINES[SALE_LINE - 1]["status_history"]
    assert rejected(tmp_path, changed(SALE_LINE, current_status=history[0])) == (
        f"line {SALE_LINE}: bad value: current_status is not the last item of status_history"
    )


def test_status_history_out_of_order(tmp_path: Path) -> None:
    history = list(reversed(LINES[SALE_LINE - 1]["status_history"]))
    message = rejected(tmp_path, changed(SALE_LINE, status_history=history, current_status=...))
    assert message.startswith(f"line {SALE_LINE}: bad value: status_history must be oldest first")


def test_last_activity_at_disagreeing_is_reported_at_the_end_with_its_line(
    tmp_path: Path,
) -> None:
    """Checked once the whole file is in (later lines may add messages), at the
    conversation's line, and still nothing is written."""
    lines = changed(CONVERSATION_LINE, last_activity_at="2025-03-01T09:12:00Z")
    assert rejected(tmp_path, lines).startswith(
        f"line {CONVERSATION_LINE}: bad value: last_activity_at 2025-03-01T09:12:00Z is not the "
        "latest sent_at"
    )


def test_last_activity_at_of_a_conversation_without_messages(tmp_path: Path) -> None:
    index = line_no("conv-empty")
    assert rejected(tmp_path, changed(index, last_activity_at="2025-03-06T10:00:00Z")).startswith(
        f"line {index}: bad value: last_activity_at"
    )


# -- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "key", "value", "kind"),
    [
        (CONTACT_LINE, "contact_id", "cnv_6tY1uI3oP5aS7dF9gH2jK4", "contact"),
        (AGENT_LINE, "agent_id", "ctc_x", "agent"),
        (CONTACT_LINE, "company_id", "agt_4fK9mQ2xR7tV1wY3zB5nD8", "company"),
        (MESSAGE_LINE, "message_id", "has space", "message"),
        (MESSAGE_LINE, "message_id", "", "message"),
        (MESSAGE_LINE, "message_id", "x" * 256, "message"),
        (AGENT_LINE, "organization_id", "cmp_9pL3kJ7hG5fD2sA8qW4eR6", "organization"),
    ],
)
def test_ids_that_cannot_be_valid(
    tmp_path: Path, index: int, key: str, value: str, kind: str
) -> None:
    message = rejected(tmp_path, changed(index, **{key: value}))
    assert message.startswith(f"line {index}: bad value: {key} ")
    assert message.endswith(f"cannot be the id of a{'n' if kind[0] == 'o' else ''} {kind}")


def test_minted_link_id_of_another_type(tmp_path: Path) -> None:
    lines = changed(MESSAGE_LINE)
    lines[MESSAGE_LINE - 1]["tracked_links"][0]["link_id"] = "msg_8qW2eR4tY6uI1oP3aS5dF7"
    assert rejected(tmp_path, lines).startswith(
        f'line {MESSAGE_LINE}: bad value: tracked_links[0].link_id "msg_8qW2eR4tY6uI1oP3aS5dF7"'
    )
