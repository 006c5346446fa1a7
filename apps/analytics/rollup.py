"""The rollups of models.py, kept exact by the database itself.

Triggers on messages and conversations add each written row's contribution to its hour (and
its response band's day) and take back the contribution of the row it replaced or deleted,
in the statement's own transaction. So every write path (import, draft delivery, the admin,
the demo seed, a deletion, SQL typed by hand) keeps them exact without knowing they exist.
On PostgreSQL they are statement triggers over the statement's transition tables, one
grouped upsert per statement (a COPY of 100,000 messages is one); SQLite has row triggers.

What a conversation contributes comes from its derived columns (`first_inbound_at`,
`first_inbound_modality`, `response_time_us`), which conversations_touch keeps, and its
`start_at`.

`rebuild()` computes the same rollups from scratch with ordinary aggregates: the migration
fills them with it, and the tests compare it with what the triggers kept.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Case, Count, F, Sum, Value, When
from django.db.models.functions import TruncDay, TruncHour

from apps.analytics.models import DailyResponseBand, HourlyTotals
from apps.conversations.models import Modality

# Response-time bands: (below this many microseconds, the first band, band width). A time t
# is in band `first + t // width` of the first tier it is below. One-second bands up to a
# minute, one-minute bands up to an hour, ten-minute bands up to a day, then hours.
BANDS: list[tuple[int | None, int, int]] = [
    (60_000_000, 0, 1_000_000),
    (3_600_000_000, 60, 60_000_000),
    (86_400_000_000, 120, 600_000_000),
    (None, 264, 3_600_000_000),
]


def band(response_time_us: int) -> int:
    for below, first, width in BANDS:
        if below is None or response_time_us < below:
            return first + response_time_us // width
    raise AssertionError("the last tier has no bound")


def band_bounds(number: int) -> tuple[int, int]:
    """The response times [low, high) in microseconds of a band."""
    for below, first, width in BANDS:
        low = (number - first) * width
        if below is None or low < below:
            return low, low + width
    raise AssertionError("the last tier has no bound")


def band_expression(field: str) -> Case:
    """`band()` of a column, as a query expression (integer division on both databases).

    The constants are bigints: a bare Value(int) is an IntegerField, which PostgreSQL gets as
    a 4-byte integer when parameters are bound on the server (DATABASE_PREPARED_STATEMENTS),
    and the last tier's width does not fit one."""

    def number(value: int) -> Value:
        return Value(value, output_field=models.BigIntegerField())

    def within(first: int, width: int) -> Any:
        return number(first) + F(field) / number(width)

    whens = [
        When(**{f"{field}__lt": below}, then=within(first, width))
        for below, first, width in BANDS[:-1]
        if below is not None
    ]
    _none, first, width = BANDS[-1]
    return Case(*whens, default=within(first, width))


def _band_sql(column: str) -> str:
    cases = " ".join(
        f"WHEN {column} < {below} THEN {first} + {column} / {width}"
        for below, first, width in BANDS[:-1]
    )
    _none, first, width = BANDS[-1]
    return f"CASE {cases} ELSE {first} + {column} / {width} END"


def floor_hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(instant: datetime) -> datetime:
    floor = floor_hour(instant)
    return floor if floor == instant else floor + timedelta(hours=1)


def floor_day(instant: datetime) -> datetime:
    return floor_hour(instant).replace(hour=0)


def ceil_day(instant: datetime) -> datetime:
    floor = floor_day(instant)
    return floor if floor == instant else floor + timedelta(days=1)


# -- the triggers -------------------------------------------------------------------------------
#
# Their SQL is built from this module's constants only (table and column names, literals).
# A contribution: (rollup table, its key columns beyond the organization as {column: SQL of
# the source row}, a condition on the source row, {counter column: SQL of the source row}).
# `{r}` stands for the source row: the transition table's row on PostgreSQL, NEW or OLD on
# SQLite; `{hour}` and `{day}` for the truncation of a timestamp, per database.

Contribution = tuple[str, dict[str, str], str, dict[str, str]]

HOURS = HourlyTotals._meta.db_table
BAND_DAYS = DailyResponseBand._meta.db_table


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


MESSAGE = [
    (
        HOURS,
        {"hour": "{hour}({r}.sent_at)"},
        "1 = 1",
        {
            "messages_received": _flag("{r}.direction = 'received'"),
            "messages_sent": _flag("{r}.direction = 'sent'"),
        },
    )
]
CONVERSATION = [
    (HOURS, {"hour": "{hour}({r}.start_at)"}, "1 = 1", {"conversations_started": "1"}),
    (
        HOURS,
        {"hour": "{hour}({r}.first_inbound_at)"},
        "{r}.first_inbound_at IS NOT NULL",
        {
            **{
                f"first_inbound_{modality}": _flag(f"{{r}}.first_inbound_modality = '{modality}'")
                for modality in Modality.values
            },
            "responded": _flag("{r}.response_time_us IS NOT NULL"),
            "response_time_us": "COALESCE({r}.response_time_us, 0)",
        },
    ),
    (
        BAND_DAYS,
        {"day": "{day}({r}.first_inbound_at)", "band": _band_sql("{r}.response_time_us")},
        "{r}.response_time_us IS NOT NULL",
        {"conversations": "1"},
    ),
]
SOURCES = {"conversations_message": MESSAGE, "conversations_conversation": CONVERSATION}
EVENTS = ("INSERT", "UPDATE", "DELETE")

POSTGRESQL_TRUNC = {
    "hour": "date_trunc('hour', {}, 'UTC')",
    "day": "date_trunc('day', {}, 'UTC')",
}
# Django keeps SQLite's datetimes as UTC text, `2026-03-01 10:00:00[.ffffff]`.
SQLITE_TRUNC = {
    "hour": "strftime('%Y-%m-%d %H:00:00', {})",
    "day": "strftime('%Y-%m-%d 00:00:00', {})",
}


def _fill(sql: str, row: str, trunc: dict[str, str]) -> str:
    """Put the row and the truncations into a contribution's SQL."""
    for unit, template in trunc.items():
        while f"{{{unit}}}(" in sql:  # {hour}(x) -> date_trunc('hour', x, 'UTC')
            head, tail = sql.split(f"{{{unit}}}(", 1)
            argument, rest = tail.split(")", 1)
            sql = head + template.format(argument) + rest
    return sql.replace("{r}", row)


def _tables(contributions: list[Contribution]) -> dict[str, list[Contribution]]:
    grouped: dict[str, list[Contribution]] = defaultdict(list)
    for contribution in contributions:
        grouped[contribution[0]].append(contribution)
    return grouped


def _postgresql_upsert(table: str, contributions: list[Contribution]) -> str:
    """One statement: every changed row's contributions to `table`, grouped by key."""
    keys = list(contributions[0][1])
    counters = list(dict.fromkeys(c for _t, _k, _w, values in contributions for c in values))
    parts = []
    for _table, key, condition, values in contributions:
        columns = [f"{_fill(key[k], 'changes', POSTGRESQL_TRUNC)} AS {k}" for k in keys]
        columns += [
            f"changes.sign * ({_fill(values[c], 'changes', POSTGRESQL_TRUNC)}) AS {c}"
            if c in values
            else f"0 AS {c}"
            for c in counters
        ]
        where = _fill(condition, "changes", POSTGRESQL_TRUNC)
        parts.append(
            f"SELECT changes.organization_id, {', '.join(columns)} FROM changes WHERE {where}"  # noqa: S608
        )
    group = ", ".join(["organization_id", *keys])
    sums = ", ".join(f"SUM({c})" for c in counters)
    nonzero = " OR ".join(f"SUM({c}) <> 0" for c in counters)
    updates = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in counters)
    return (
        f"INSERT INTO {table} AS t ({group}, {', '.join(counters)}) "  # noqa: S608
        f"SELECT {group}, {sums} FROM ({' UNION ALL '.join(parts)}) AS parts "
        f"GROUP BY {group} HAVING {nonzero} ORDER BY {group} "
        f"ON CONFLICT ({group}) DO UPDATE SET {updates}"
    )


def postgresql_install(source: str) -> list[str]:
    """The functions and statement triggers that keep the rollups of one source table."""
    statements = []
    for event in EVENTS:
        changes = {
            "INSERT": "SELECT *, 1 AS sign FROM new_rows",
            "DELETE": "SELECT *, -1 AS sign FROM old_rows",
            "UPDATE": "SELECT *, 1 AS sign FROM new_rows UNION ALL "
            "SELECT *, -1 AS sign FROM old_rows",
        }[event]
        upserts = "".join(
            f"WITH changes AS ({changes}) {_postgresql_upsert(table, contributions)};\n"
            for table, contributions in _tables(SOURCES[source]).items()
        )
        name = f"analytics_{source}_{event.lower()}"
        transitions = {
            "INSERT": "NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[event]
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{upserts}RETURN NULL;\nEND\n$$",
            f"CREATE TRIGGER {name} AFTER {event} ON {source} REFERENCING {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def _sqlite_upsert(contribution: Contribution, row: str, sign: int) -> str:
    table, key, condition, values = contribution
    columns = ["organization_id", *key, *values]
    selected = [f"{row}.organization_id"]
    selected += [_fill(sql, row, SQLITE_TRUNC) for sql in key.values()]
    selected += [f"{sign} * ({_fill(sql, row, SQLITE_TRUNC)})" for sql in values.values()]
    conflict = ", ".join(["organization_id", *key])
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in values)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selected)} "
        f"WHERE {_fill(condition, row, SQLITE_TRUNC)} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates};"
    )


def sqlite_install(source: str) -> list[str]:
    statements = []
    for event in EVENTS:
        rows = {"INSERT": [("NEW", 1)], "DELETE": [("OLD", -1)]}.get(event)
        body = "\n".join(
            _sqlite_upsert(contribution, row, sign)
            for row, sign in (rows or [("OLD", -1), ("NEW", 1)])
            for contribution in SOURCES[source]
        )
        name = f"analytics_{source}_{event.lower()}"
        statements.append(f"CREATE TRIGGER {name} AFTER {event} ON {source} BEGIN\n{body}\nEND")
    return statements


def install(schema_editor: Any) -> None:
    """Create every trigger (the migration runs it)."""
    vendor = schema_editor.connection.vendor
    make = {"postgresql": postgresql_install, "sqlite": sqlite_install}[vendor]
    for source in SOURCES:
        for statement in make(source):
            schema_editor.execute(statement)


def uninstall(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for source in SOURCES:
        for event in EVENTS:
            name = f"analytics_{source}_{event.lower()}"
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {source}")
                schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


# -- from scratch ------------------------------------------------------------------------------


def rebuild(
    conversations: models.QuerySet, messages: models.QuerySet
) -> tuple[dict[tuple[int, datetime], dict[str, int]], dict[tuple[int, datetime, int], int]]:
    """The rollups of these conversations and messages, by ordinary aggregates: hourly totals
    by (organization, hour) and response bands by (organization, day, band), zeros left out."""
    hours: dict[tuple[int, datetime], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(rows: Iterator[dict[str, Any]], key: str) -> None:
        for row in rows:
            totals = hours[(row.pop("organization_id"), row.pop(key))]
            for column, value in row.items():
                totals[column] += value

    received, sent = (
        Count("pk", filter=models.Q(direction="received")),
        Count("pk", filter=models.Q(direction="sent")),
    )
    add(
        messages.annotate(at=TruncHour("sent_at", tzinfo=UTC))
        .values("organization_id", "at")
        .annotate(messages_received=received, messages_sent=sent)
        .order_by(),
        "at",
    )
    add(
        conversations.annotate(at=TruncHour("start_at", tzinfo=UTC))
        .values("organization_id", "at")
        .annotate(conversations_started=Count("pk"))
        .order_by(),
        "at",
    )
    by_modality = {
        f"first_inbound_{modality}": Count("pk", filter=models.Q(first_inbound_modality=modality))
        for modality in Modality.values
    }
    add(
        conversations.exclude(first_inbound_at=None)
        .annotate(at=TruncHour("first_inbound_at", tzinfo=UTC))
        .values("organization_id", "at")
        .annotate(
            **by_modality,
            responded=Count("response_time_us"),
            response_time_us_sum=Sum("response_time_us", default=0),
        )
        .order_by(),
        "at",
    )
    for totals in hours.values():
        totals["response_time_us"] = totals.pop("response_time_us_sum", 0)
    bands = {
        (row["organization_id"], row["at"], row["number"]): row["count"]
        for row in conversations.exclude(response_time_us=None)
        .annotate(
            at=TruncDay("first_inbound_at", tzinfo=UTC), number=band_expression("response_time_us")
        )
        .values("organization_id", "at", "number")
        .annotate(count=Count("pk"))
        .order_by()
    }
    return {key: dict(totals) for key, totals in hours.items()}, bands


def forget_organization(sender: Any, instance: Any, **kwargs: Any) -> None:
    """An organization was deleted: so are its rollups (a signal receiver, apps.py)."""
    HourlyTotals.objects.for_org(instance.pk).delete()
    DailyResponseBand.objects.for_org(instance.pk).delete()
