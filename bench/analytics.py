"""Conversation analytics on PostgreSQL at 1,000,000 messages, end to end:

    .venv/bin/python -m bench.analytics [--messages 1000000] [--seconds 10]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_analytics; its name must contain
   "bench", as it is dropped), migrates it, seeds the demo organization scaled to
   `--messages` (`manage.py seed_demo --messages N`, 400 days of history), then
   `VACUUM (ANALYZE)`.
2. Checks the combined answer of each window against the plain-Python reference of
   docs/analytics.md (tests/analytics/reference.py) computed from every message of the organization.
3. EXPLAIN (ANALYZE, BUFFERS) of every query the combined endpoint sends, for a 30-day and a
   365-day window ending now.
4. gunicorn (deploy/gunicorn.conf.py): `GET …/analytics/conversations` for each window, one
   client (the latency targets: p50 <= 50 ms for 30 days, <= 200 ms for 365 days), then 4
   clients for throughput; and each breakout at one client.

Results go to bench/results/analytics.md. SECRET_KEY is random unless set.
"""

import argparse
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from bench import harness, load

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_analytics"
WINDOWS = {"30 days": (30, 50.0), "365 days": (365, 200.0)}  # days, p50 target in ms
BREAKOUTS = ("response-rate", "response-time", "volume", "modality")


@dataclass(frozen=True)
class Seeded:
    organization_id: str
    api_key: str
    messages: int
    conversations: int
    seed_seconds: float
    now: datetime


def main() -> None:
    parser = argparse.ArgumentParser(description="Conversation analytics (PostgreSQL).")
    parser.add_argument("--messages", type=int, default=1_000_000, help="demo organization size")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one load run")
    args = parser.parse_args()

    started = time.monotonic()
    harness.fresh_django(DEFAULT_DATABASE_URL)
    seeded = _seed(args.messages)
    windows = {
        label: {
            "start_date": (seeded.now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date": seeded.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for label, (days, _target) in WINDOWS.items()
    }
    lines = [f"# Conversation analytics: results\n\n{harness.machine()}\n"]
    lines += [
        f"Data: `seed_demo --messages {args.messages}`: {seeded.messages:,} messages in "
        f"{seeded.conversations:,} conversations over 400 days, seeded in "
        f"{seeded.seed_seconds:.0f} s; then `VACUUM (ANALYZE)`. Windows end at the seeding "
        "time (now, to the second).\n"
    ]
    lines += _exact(seeded, windows)
    lines += _plans(seeded, windows)
    lines += _loads(seeded, windows, args.seconds)
    lines.append(f"Whole run: {time.monotonic() - started:.0f} s.\n")
    harness.write_report("analytics.md", lines)


def _seed(messages: int) -> Seeded:
    from django.db import connection
    from django.utils import timezone

    from apps.conversations.models import Conversation, Message

    organization, api_key, seed_seconds = harness.seed_demo(messages)
    now = timezone.now().replace(microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return Seeded(
        organization_id=organization.public_id,
        api_key=api_key,
        messages=Message.objects.for_org(organization).count(),
        conversations=Conversation.objects.for_org(organization).count(),
        seed_seconds=seed_seconds,
        now=now,
    )


def _path(seeded: Seeded, window: dict[str, str], breakout: str = "") -> str:
    suffix = f"/{breakout}" if breakout else ""
    return (
        f"/api/v2/organizations/{seeded.organization_id}/analytics/conversations{suffix}"
        f"?{urlencode(window)}"
    )


def _exact(seeded: Seeded, windows: dict[str, dict[str, str]]) -> list[str]:
    from apps.organizations.models import Organization
    from hyperrep.api.dates import parse_instant
    from tests.analytics import reference

    client = harness.client(seeded.api_key)
    began = time.monotonic()
    threads = reference.threads_of(Organization.objects.get(public_id=seeded.organization_id))
    out = ["## Exact at scale\n"]
    for label, window in windows.items():
        answer = client.get(_path(seeded, window)).json()
        expected = reference.analytics(
            threads.values(), parse_instant(window["start_date"]), parse_instant(window["end_date"])
        )
        assert answer == expected, (label, answer, expected)
        out += [f"- {label} (`{urlencode(window)}`): `{answer}`"]
    harness.say("the answers equal the reference")
    return [
        *out,
        "",
        "Each answer equals the plain-Python reference of docs/analytics.md "
        "(tests/analytics/reference.py) computed from every message of the organization "
        f"({time.monotonic() - began:.0f} s in Python, against milliseconds in the database).\n",
    ]


def _plans(seeded: Seeded, windows: dict[str, dict[str, str]]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = harness.client(seeded.api_key)
    client.get(_path(seeded, next(iter(windows.values()))))  # last_used_at, if due, here
    table = [
        "## The combined endpoint's queries\n",
        "Every query `GET …/analytics/conversations` sends besides authentication, under "
        "EXPLAIN (ANALYZE, BUFFERS) after one warm-up run, with its median round trip over "
        "20 runs.\n",
        "| window | query | plan | execution | shared buffers | median round trip |",
        "|---|---|---|---|---|---|",
    ]
    plans = []
    for label, window in windows.items():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_path(seeded, window)).status_code == 200
        queries = [q["sql"] for q in captured]
        analytics = [q for q in queries if q.startswith("SELECT") and _reads_data(q)]
        for sql in analytics:
            plan, median = harness.explain(sql, repeats=20)
            what = _what(sql)
            nodes = " → ".join(_nodes(plan))
            table.append(
                f"| {label} | {what} | {nodes} | {harness.plan_value(plan, 'Execution Time:')} "
                f"| {harness.buffers(plan)} | {median:.1f} ms |"
            )
            plans.append(f"{label}, {what}:\n\n```sql\n{sql}\n```\n\n```\n{plan}\n```\n")
    harness.say("explained the queries")
    return [*table, "", "<details><summary>Queries and plans</summary>\n", *plans, "</details>\n"]


def _reads_data(sql: str) -> bool:
    source = sql.split("FROM", 1)[-1]
    return any(f'"{table}"' in source for table in QUERIES)


QUERIES = {  # the table a query reads: how to tell its queries apart, and what each is
    "analytics_hourlytotals": [("", "hourly rollup: sums over the whole hours")],
    "analytics_dailyresponseband": [("", "band rollup: counts by band over the whole days")],
    "conversations_message": [("", "ends (< 1 hour): messages by direction")],
    "conversations_conversation": [
        ("LIMIT 1", "percentile: the value at its rank within its band"),
        ('END AS "band"', "ends (< 1 day): responded conversations by band"),
        ("first_inbound_modality", "ends (< 1 hour): first inbounds by modality"),
        ("", "ends (< 1 hour): conversations started"),
    ],
}


def _what(sql: str) -> str:
    source = sql.split("FROM", 1)[-1]
    for table, kinds in QUERIES.items():
        if f'"{table}"' in source:
            return next(label for marker, label in kinds if marker in sql)
    raise AssertionError(sql)


def _nodes(plan: str) -> list[str]:
    """The plan's scan, sort and aggregate nodes, top down, with their index."""
    keep = ("Scan", "Sort", "Aggregate", "WindowAgg", "Gather")
    nodes = []
    for line in plan.splitlines():
        text = line.strip().removeprefix("->").strip()
        if any(word in text.split("(")[0] for word in keep):
            nodes.append(text.split("  (")[0])
    return nodes


def _loads(seeded: Seeded, windows: dict[str, dict[str, str]], seconds: float) -> list[str]:
    headers = {"X-API-KEY": seeded.api_key}
    out = [
        "## Through gunicorn\n",
        f"gunicorn with deploy/gunicorn.conf.py, {harness.workers()} sync workers, on "
        f"127.0.0.1; closed-loop clients (bench/load.py), {seconds:g} s per row after a 2 s "
        "warm-up.\n",
        "| endpoint | window | clients | req/s | p50 | p99 | requests | target (p50) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with harness.gunicorn() as port:
        rows: list[tuple[str, str, int]] = []
        for label in windows:
            rows += [("conversations", label, 1), ("conversations", label, 4)]
        rows += [(f"conversations/{b}", "365 days", 1) for b in BREAKOUTS]
        for endpoint, label, clients in rows:
            breakout = endpoint.partition("/")[2]
            url = harness.url(port, _path(seeded, windows[label], breakout))
            status, body = harness.get(port, _path(seeded, windows[label], breakout), headers)
            assert status == 200, body
            load.run(url, headers=headers, clients=clients, seconds=2)
            result = load.run(url, headers=headers, clients=clients, seconds=seconds)
            assert result.errors == 0, result.summary()
            target = ""
            if endpoint == "conversations" and clients == 1:
                limit = WINDOWS[label][1]
                met = "met" if result.percentile(50) <= limit else "NOT met"
                target = f"<= {limit:.0f} ms: {met}"
            out.append(
                f"| `{endpoint}` | {label} | {clients} | {result.rps:.0f} "
                f"| {result.percentile(50):.1f} ms | {result.percentile(99):.1f} ms "
                f"| {result.requests} | {target} |"
            )
            harness.say(f"{endpoint} {label}: {result.summary()}")
    return [*out, ""]


if __name__ == "__main__":
    main()
