import functools
from typing import Any, cast

from django.db import connection
from django.db.models import (
    BigIntegerField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.db.models.sql.subqueries import UpdateQuery

from apps.conversations.models import Conversation, Direction, Message


class Microseconds(Func):
    """A duration (the difference of two datetimes) as whole microseconds, exactly: SQLite's
    datetime difference (Django's `django_timestamp_diff`) already is; PostgreSQL's is an
    interval, whose epoch is an exact numeric."""

    output_field = BigIntegerField()
    template = "%(expressions)s"

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
            **extra_context,
        )


def conversations_touch(conversations: QuerySet[Conversation], *, unread: bool = False) -> None:
    """Recompute, in one UPDATE, the columns a conversation derives from its messages
    (models.Conversation): `last_activity_at` and the first inbound message, its modality
    and the time to the first response (the analytics definitions). Every path that writes
    messages calls it in the same transaction, with the conversations already scoped;
    `unread` marks them unread in the same statement (a message came in).

    The SET clause is the same every time: Django compiles it once a database (building
    it cost 4 ms, where the statement runs in under 1), and each call adds its WHERE."""
    conversations._check_scope()  # type: ignore[attr-defined]  # fail closed, as update() does
    set_sql, set_params = _touch_set(connection.alias, unread)
    pks_sql, pks_params = conversations.values("pk").query.sql_with_params()
    table = connection.ops.quote_name(Conversation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{set_sql} WHERE {table}.{connection.ops.quote_name('id')} IN ({pks_sql})",
            [*set_params, *pks_params],
        )


@functools.cache
def _touch_set(alias: str, unread: bool) -> tuple[str, tuple[Any, ...]]:
    """`UPDATE conversations SET …` of conversations_touch, compiled for this database, and
    its parameters."""
    messages = Message.objects
    received, sent = Direction.RECEIVED.value, Direction.SENT.value
    # Each is a probe of `message_chronological` (conversation, sent_at, id) per conversation,
    # where MIN/MAX ... GROUP BY would read every message of each.
    latest = messages.filter(conversation=OuterRef("pk")).order_by("-sent_at").values("sent_at")[:1]
    # The earliest received message; equal times go to the one recorded first.
    inbound = messages.filter(conversation=OuterRef("pk"), direction=received).order_by(
        "sent_at", "pk"
    )
    first_inbound_at = Subquery(inbound.values("sent_at")[:1])
    # The earliest sent message at or after it (the same time included).
    first_response_at = Subquery(
        messages.filter(
            conversation=OuterRef("pk"),
            direction=sent,
            sent_at__gte=Subquery(
                messages.filter(conversation=OuterRef(OuterRef("pk")), direction=received)
                .order_by("sent_at")
                .values("sent_at")[:1]
            ),
        )
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    values = {
        "last_activity_at": Coalesce(Subquery(latest), F("start_at")),
        "first_inbound_at": first_inbound_at,
        "first_inbound_modality": Subquery(inbound.values("modality")[:1]),
        "response_time_us": Microseconds(
            ExpressionWrapper(first_response_at - first_inbound_at, output_field=DurationField())
        ),
        **({"is_read": False} if unread else {}),
    }
    query = cast(UpdateQuery, Conversation.objects.unscoped().filter(pk=0).query.chain(UpdateQuery))
    query.add_update_values(values)
    sql, params = query.get_compiler(alias).as_sql()
    # The WHERE of filter(pk=0) comes last, after every subquery of the SET clause.
    set_sql, where = sql.rsplit(" WHERE ", 1)
    assert where.count("%s") == 1, where
    return set_sql, tuple(params[:-1])
