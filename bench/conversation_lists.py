"""The conversations and messages lists on PostgreSQL, end to end:

    .venv/bin/python -m bench.conversation_lists [--messages 1000000] [--seconds 4] [--rounds 5]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_lists; its name must contain "bench", as
   it is dropped), migrates it and seeds the demo organization scaled to `--messages`
   (`manage.py seed_demo --messages N`), plus one long conversation of 1,000 messages so that a
   page of 500 is full, with 120 response drafts (one pending, the rest superseded), and
   two response drafts in every other conversation.
2. EXPLAIN (ANALYZE, BUFFERS) of the page query of every list and filter of the conversations
   issue, as the API sent it (first page and the page after it): each must be a range scan
   of the list's index, and a first page with more behind it in the list's order (no Sort).
3. Checks that the floors, Django's (bench/floor.py) and the raw psycopg one
   (bench/raw_floor.py), send the API's SQL and answer its bytes.
4. gunicorn (deploy/gunicorn.conf.py, the raw floor in front of Django):
   `conversations/{id}/messages?limit=500` and `conversations?limit=100`, API against both
   floors, at 1 and 8 clients in interleaved rounds.

Results go to bench/results/conversation_lists.md. SECRET_KEY is random unless set.
"""

import argparse
import time
from dataclasses import dataclass
from datetime import timedelta

from bench import harness

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_lists"
LONG_CONVERSATION = 1_000
RESPONSE_DRAFTS = 120  # in the long conversation: more than two pages of its history
CLIENTS = (1, 8)
PAGE = 50  # rows per page of the EXPLAIN walk


@dataclass(frozen=True)
class Seeded:
    organization_id: str
    api_key: str
    long_conversation_id: str  # 1,000 messages
    contact_id: str  # a contact with several conversations
    agent_id: str  # the agent with the most conversations
    messages: int
    seed_seconds: float


def main() -> None:
    parser = argparse.ArgumentParser(description="Conversations and messages lists (PostgreSQL).")
    parser.add_argument("--messages", type=int, default=1_000_000, help="demo organization size")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=5, help="load runs per target and level")
    args = parser.parse_args()

    started = time.monotonic()
    harness.fresh_django(DEFAULT_DATABASE_URL)
    seeded = _seed(args.messages)
    lines = [f"# Conversations and messages lists: results\n\n{harness.machine()}\n"]
    lines += [
        f"Data: `seed_demo --messages {args.messages}` ({seeded.messages:,} messages in the "
        f"demo organization, seeded in {seeded.seed_seconds:.0f} s) plus one conversation "
        f"of {LONG_CONVERSATION:,} messages and {RESPONSE_DRAFTS} response drafts; then "
        "`VACUUM (ANALYZE)`.\n"
    ]
    lines += _plans(seeded)
    lines += harness.same_queries(seeded.api_key, _load_paths(seeded))
    with harness.gunicorn(app=harness.RAW_APP) as port:
        for label, path in _load_paths(seeded).items():
            out, _runs = harness.compare_loads(
                port,
                api_key=seeded.api_key,
                paths=path,
                clients=CLIENTS,
                seconds=args.seconds,
                rounds=args.rounds,
                describe=f"`GET {label}`",
            )
            lines += [f"## Load: `{label}`\n", *out, ""]
    lines.append(f"Whole run: {time.monotonic() - started:.0f} s.\n")
    harness.write_report("conversation_lists.md", lines)


def _seed(messages: int) -> Seeded:
    from django.db import connection, transaction
    from django.db.models import Count

    from apps.conversations.models import Conversation, Message, TrackedLink
    from apps.conversations.services import conversations_touch
    from apps.drafts.models import DraftStatus, ResponseDraft
    from apps.drafts.services import response_draft_create
    from hyperrep import ids

    organization, api_key, seed_seconds = harness.seed_demo(messages)

    conversations = Conversation.objects.for_org(organization)
    template = conversations.order_by("start_at", "id").first()
    assert template is not None
    with transaction.atomic():
        long = Conversation.objects.create(
            organization=organization,
            contact=template.contact,
            agent=template.agent,
            start_at=template.start_at,
        )
        rows = Message.objects.bulk_create(
            Message(
                organization=organization,
                public_id=ids.mint("msg"),
                conversation=long,
                agent=template.agent,
                modality="email",
                direction="sent" if number % 2 else "received",
                subject=f"Re: roof repair ({number})",
                content="<p>Thanks for the photos. We can start on Tuesday.</p>" * 3,
                sent_at=long.start_at + timedelta(minutes=number),
                cc_emails=["office@example.com"] if number % 5 == 0 else [],
            )
            for number in range(LONG_CONVERSATION)
        )
        TrackedLink.objects.bulk_create(
            TrackedLink(
                organization=organization,
                public_id=ids.mint("lnk"),
                message=message,
                url=f"https://quotes.example.com/{message.public_id}",
                click_count=number % 4,
            )
            for number, message in enumerate(rows)
            if message.direction == "sent"
        )
        conversations_touch(Conversation.objects.unscoped().filter(pk=long.pk))
        # Reply drafts in other conversations, so that the drafts table is not small enough
        # to read whole: a superseded and a pending draft in every other conversation.
        ResponseDraft.objects.bulk_create(
            (
                ResponseDraft(
                    organization=organization,
                    conversation_id=pk,
                    modality="email",
                    body_html="<p>Thanks, we can come by on Tuesday.</p>",
                    status=status,
                    created_at=start_at + timedelta(hours=hours),
                    updated_at=start_at + timedelta(hours=hours),
                )
                for pk, start_at in conversations.values_list("pk", "start_at")[::2]
                for hours, status in ((1, DraftStatus.SUPERSEDED), (2, DraftStatus.PENDING))
            ),
            batch_size=5_000,
        )
        # The long conversation's history, each draft superseding the one before, as the AI
        # rep redrafts.
        for number in range(RESPONSE_DRAFTS):
            response_draft_create(
                organization=organization,
                conversation=long,
                body_html=f"<p>Draft {number}: we can start on Tuesday.</p>",
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    contact = (
        conversations.values("contact__public_id").annotate(n=Count("id")).order_by("-n").first()
    )
    agent = conversations.values("agent__public_id").annotate(n=Count("id")).order_by("-n")
    assert contact is not None
    return Seeded(
        organization_id=organization.public_id,
        api_key=api_key,
        long_conversation_id=long.public_id,
        contact_id=contact["contact__public_id"],
        agent_id=next(row for row in agent if row["agent__public_id"])["agent__public_id"],
        messages=Message.objects.for_org(organization).count(),
        seed_seconds=seed_seconds,
    )


# -- 2. every list's plan -----------------------------------------------------------------------


def _cases(seeded: Seeded) -> list[tuple[str, dict[str, str], str]]:
    """(path under the organization, query, the index that must serve its page query)."""
    conversation = f"conversations/{seeded.long_conversation_id}"
    return [
        ("conversations", {}, "conversation_newest_first"),
        (
            "conversations",
            {"start_date": "2026-01-01", "end_date": "2026-02-01"},
            "conversation_newest_first",
        ),
        ("conversations", {"folder": "sales-follow-up"}, "conversation_by_folder"),
        ("conversations", {"is_read": "false"}, "conversation_by_is_read"),
        (f"contacts/{seeded.contact_id}/conversations", {}, "conversation_by_contact"),
        (f"agents/{seeded.agent_id}/conversations", {}, "conversation_by_agent"),
        (f"{conversation}/messages", {}, "message_chronological"),
        (f"{conversation}/messages", {"start_date": "2026-01-01"}, "message_chronological"),
        ("sales", {}, "sale_newest_first"),
        (f"agents/{seeded.agent_id}/sales", {}, "sale_by_owner"),
        (f"{conversation}/response-drafts", {}, "response_draft_history"),
    ]


def _plans(seeded: Seeded) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = harness.client(seeded.api_key)
    base = f"/api/v2/organizations/{seeded.organization_id}"
    table = [
        "## Every list's page query\n",
        f"The page query as the API sent it (first page at limit {PAGE}, then the page after it "
        "through `next_cursor`), under EXPLAIN (ANALYZE, BUFFERS) after one warm-up run, and "
        f"its median round trip over {harness.EXPLAIN_REPEATS} runs. Each must be a range scan "
        "of the named index. A first page with more behind it must be in the index's order (no "
        "Sort node); a list of a few rows, or a later page of a date window, may be sorted "
        "after the scan, as the planner prefers (bench/README.md says why).\n",
        "| list | query | page | index | execution | shared buffers | median round trip |",
        "|---|---|---|---|---|---|---|",
    ]
    plans = []
    for path, params, index in _cases(seeded):
        cursor = None
        for page in (1, 2):
            query = {**params, "limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
            with CaptureQueriesContext(connection) as captured:
                response = client.get(f"{base}/{path}", query)
            assert response.status_code == 200, response.content
            body = response.json()
            # The page query is the one that asks for limit + 1 rows.
            sql = next(q["sql"] for q in captured if q["sql"].endswith(f"LIMIT {PAGE + 1}"))
            plan, median = harness.explain(sql, repeats=50)
            assert f"Scan using {index} on" in plan, (path, params, plan)
            cursor = body["pagination"]["next_cursor"]
            # A first page with more behind it must come in the index's order; a list of a
            # handful of rows (a contact's few conversations) the planner may sort, and
            # rightly. A later page of a date window may be sorted too: the planner multiplies
            # the window's and the cursor's selectivities, both on the ordering column, and
            # may expect fewer rows than a page (bench/README.md).
            sorted_ = "Sort Key" in plan
            assert not (sorted_ and cursor and page == 1), plan
            table.append(
                f"| `{path}` | `{params or ''}` | {page} | {index}{' + Sort' if sorted_ else ''} "
                f"| {harness.plan_value(plan, 'Execution Time:')} | {harness.buffers(plan)} "
                f"| {median:.3f} ms |"
            )
            plans.append(f"`{path}` {params or ''} page {page}:\n\n```\n{plan}\n```\n")
            if cursor is None:
                break
    harness.say("explained every list")
    return [*table, "", "<details><summary>Plans</summary>\n", *plans, "</details>\n"]


# -- 3. the lists loaded -------------------------------------------------------------------------


def _load_paths(seeded: Seeded) -> dict[str, dict[str, str]]:
    from bench.raw_floor import RAW_PREFIX
    from bench.urls import FLOOR_PREFIX

    org = seeded.organization_id
    messages = f"conversations/{seeded.long_conversation_id}/messages?limit=500"
    return {
        f".../{messages}": {
            "api": f"/api/v2/organizations/{org}/{messages}",
            "floor": f"{FLOOR_PREFIX}{org}/{messages}",
            "raw": f"{RAW_PREFIX}{org}/{messages}",
        },
        ".../conversations?limit=100": {
            "api": f"/api/v2/organizations/{org}/conversations?limit=100",
            "floor": f"{FLOOR_PREFIX}{org}/conversations?limit=100",
            "raw": f"{RAW_PREFIX}{org}/conversations?limit=100",
        },
    }


if __name__ == "__main__":
    main()
