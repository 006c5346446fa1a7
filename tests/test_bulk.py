"""update_each: each row to its own values, in one statement, on either database."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.drafts.models import DraftStatus, ResponseDraft
from hyperrep.bulk import update_each
from tests.factories import ResponseDraftFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_in_one_statement() -> None:
    first, second, untouched = ResponseDraftFactory.create_batch(3)
    # A column all NULL (sent_at here, next_attempt_at below) still has the field's type.
    first.status, first.sent_at, first.provider_message_id = DraftStatus.SENT, None, "SM1"
    first.next_attempt_at = second.next_attempt_at = None
    first.attempts, second.attempts = 3, 0
    second.status = DraftStatus.FAILED
    second.sent_at = datetime(2026, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)
    second.provider_message_id = None
    second.last_error = 'it\'s "quoted"; DROP TABLE x'  # a value, never SQL
    with CaptureQueriesContext(connection) as queries:
        update_each(
            [first, second],
            [
                "status",
                "sent_at",
                "provider_message_id",
                "last_error",
                "next_attempt_at",
                "attempts",
            ],
        )
    assert len(queries) == 1
    rows = {d.pk: d for d in ResponseDraft.objects.unscoped()}
    assert (rows[first.pk].status, rows[first.pk].provider_message_id) == ("sent", "SM1")
    assert rows[second.pk].status == "failed"
    assert rows[second.pk].sent_at == second.sent_at
    assert rows[second.pk].provider_message_id is None
    assert rows[second.pk].last_error == 'it\'s "quoted"; DROP TABLE x'
    assert (rows[first.pk].attempts, rows[second.pk].attempts) == (3, 0)
    assert rows[first.pk].next_attempt_at is None
    assert rows[untouched.pk].status == untouched.status


def test_no_rows_no_statement() -> None:
    with CaptureQueriesContext(connection) as queries:
        update_each([], ["status"])
    assert len(queries) == 0
