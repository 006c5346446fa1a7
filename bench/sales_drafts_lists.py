"""The sales and response drafts lists on PostgreSQL, end to end:

    .venv/bin/python -m bench.sales_drafts_lists [--messages 200000] [--sales 20000]
        [--seconds 4] [--rounds 5]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_sd; its name must contain "bench", as it
   is dropped), migrates it and seeds the demo organization (`manage.py seed_demo --messages N
   --sales S`: sales with their contacts, conversations, quote and status history, by COPY),
   spreads the newest sales, which seed_demo dates all in its last minute, over 60 days with
   their later stages, adds one conversation with a history of 150 response drafts of every
   status and two response drafts in every other conversation; then VACUUM (ANALYZE).
2. Runs every SELECT the API sends for each list's page under EXPLAIN (ANALYZE, BUFFERS),
   with its median round trip.
3. Checks that the floors, Django's (bench/floor.py) and the raw psycopg one
   (bench/raw_floor.py), send the API's SQL and answer its bytes.
4. gunicorn (deploy/gunicorn.conf.py, the raw floor in front of Django): `sales?limit=100`
   and `conversations/{id}/response-drafts?limit=100`, API against both floors, at 1 and 8
   clients in interleaved rounds.
5. Profiles the API and the Django floor in-process (cProfile) to show where a request's
   time goes.

Results go to bench/results/sales_drafts_lists.md. SECRET_KEY is random unless set.
"""

import argparse
import itertools
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench import harness

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_sd"
RESPONSE_DRAFTS = 150  # in one conversation: a full page of 100 with more behind it
LIMIT = 100
CLIENTS = (1, 8)
SEED = 20261201


@dataclass(frozen=True)
class Seeded:
    organization_id: str
    api_key: str
    drafted_conversation_id: str  # RESPONSE_DRAFTS response drafts
    sales: int
    messages: int
    seed_seconds: float


def main() -> None:
    parser = argparse.ArgumentParser(description="Sales and response drafts lists (PostgreSQL).")
    parser.add_argument("--messages", type=int, default=200_000, help="demo organization size")
    parser.add_argument("--sales", type=int, default=20_000, help="the demo organization's sales")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=5, help="load runs per target and level")
    args = parser.parse_args()

    started = time.monotonic()
    harness.fresh_django(DEFAULT_DATABASE_URL)
    seeded = _seed(args.messages, args.sales)
    lines = [f"# Sales and response drafts lists: results\n\n{harness.machine()}\n"]
    lines += [
        f"Data: `seed_demo --messages {args.messages} --sales {args.sales}` "
        f"({seeded.messages:,} messages and {seeded.sales:,} sales, drafts included, in the demo "
        f"organization, seeded in {seeded.seed_seconds:.0f} s), plus one conversation with "
        f"{RESPONSE_DRAFTS} response drafts of every status and two response drafts in every "
        "other conversation; then `VACUUM (ANALYZE)`.\n"
    ]
    paths = _load_paths(seeded)
    lines += _queries(seeded, paths)
    lines += harness.same_queries(seeded.api_key, paths)
    with harness.gunicorn(app=harness.RAW_APP) as port:
        for label, path in paths.items():
            out, _runs = harness.compare_loads(
                port,
                api_key=seeded.api_key,
                paths=path,
                clients=CLIENTS,
                seconds=args.seconds,
                rounds=args.rounds,
                describe=f"`GET {label}` ({LIMIT} rows)",
            )
            lines += [f"## Load: `{label}`\n", *out, ""]
    lines += _profiles(seeded, paths)
    lines.append(f"Whole run: {time.monotonic() - started:.0f} s.\n")
    harness.write_report("sales_drafts_lists.md", lines)


# -- 1. the data --------------------------------------------------------------------------------


def _seed(messages: int, sales: int) -> Seeded:
    from django.db import connection, transaction
    from django.db.models import Count

    from apps.conversations.models import Conversation, Message
    from apps.drafts.models import DraftStatus, ResponseDraft
    from apps.sales.models import Sale

    organization, api_key, seed_seconds = harness.seed_demo(messages, "--sales", str(sales))
    rng = random.Random(SEED)
    with transaction.atomic():
        _spread_newest_sales(organization, rng)
    conversations = Conversation.objects.for_org(organization)
    # The drafts' conversation: the one with the most messages, a long back and forth.
    drafted = (
        conversations.annotate(n=Count("messages")).order_by("-n", "id").select_related("contact")
    ).first()
    assert drafted is not None
    with transaction.atomic():
        ResponseDraft.objects.bulk_create(_history(organization, drafted, rng), batch_size=1_000)
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
                for pk, start_at in conversations.exclude(pk=drafted.pk)
                .order_by("id")
                .values_list("pk", "start_at")[::2]
                for hours, status in ((1, DraftStatus.SUPERSEDED), (2, DraftStatus.PENDING))
            ),
            batch_size=5_000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    harness.say(f"seeded {RESPONSE_DRAFTS} response drafts in {drafted.public_id}")
    return Seeded(
        organization_id=organization.public_id,
        api_key=api_key,
        drafted_conversation_id=drafted.public_id,
        sales=Sale.objects.for_org(organization).count(),
        messages=Message.objects.for_org(organization).count(),
        seed_seconds=seed_seconds,
    )


def _spread_newest_sales(organization: Any, rng: random.Random) -> None:
    """seed_demo dates a sale a few hours after its conversation began, but no later than its
    history allows before now: the sales of the newest conversations all land in the minute
    before the seed ran, nearly all with a history of one entry, so they would make the
    whole first page. Spread those over the last 60 days (their history moves with them),
    and let the one-entry ones move on as seed_demo's histories do: perhaps a custom stage,
    perhaps an outcome, each an hour to ten days after the last, all before now."""
    from django.utils import timezone

    from apps.demo import content
    from apps.sales.models import Sale, SaleStatus, SaleStatusChange

    now = timezone.now()
    sales = Sale.objects.for_org(organization)
    newest = sales.order_by("-created_at").values_list("created_at", flat=True).first()
    assert newest is not None
    moved = list(sales.filter(created_at__gte=newest - timedelta(minutes=10)).order_by("id"))
    changes: dict[int, list[Any]] = {}
    for change in SaleStatusChange.objects.for_org(organization).filter(sale__in=moved):
        changes.setdefault(change.sale_id, []).append(change)
    added = []
    outcomes = (SaleStatus.ACCEPTED, SaleStatus.DECLINED, SaleStatus.LOST)
    for sale in moved:
        back = timedelta(seconds=rng.randint(3600, 60 * 86400))
        sale.created_at -= back
        history = sorted(changes.get(sale.pk, []), key=lambda change: change.changed_at)
        for change in history:
            change.changed_at -= back
        last = history[-1].changed_at if history else sale.created_at
        if len(history) == 1:
            steps: list[tuple[str, str | None]] = []
            if rng.random() < 0.5:
                steps.append((rng.choice(content.CUSTOM_STAGES), None))
            if rng.random() < 0.6:
                outcome = rng.choices(outcomes, (30, 12, 13))[0]
                steps.append((SaleStatus(outcome).label, outcome))
            for label, status in steps:
                at = last + timedelta(seconds=rng.randint(3600, 10 * 86400))
                if at >= now - timedelta(minutes=1):
                    break
                added.append(
                    SaleStatusChange(
                        organization=organization,
                        sale=sale,
                        label=label,
                        status=status,
                        changed_at=at,
                    )
                )
                last = at
        sale.last_activity_at = last
    sales.bulk_update(moved, ["created_at", "last_activity_at"], batch_size=1_000)
    SaleStatusChange.objects.for_org(organization).bulk_update(
        [change for history in changes.values() for change in history], ["changed_at"]
    )
    SaleStatusChange.objects.for_org(organization).bulk_create(added)
    harness.say(f"spread the {len(moved)} newest sales, {len(added)} more status changes")


BODIES = (
    "<p>Hi {first},</p><p>Thanks for sending the photos of the ridge. From what I can see the "
    "flashing around the chimney has lifted; we can reseal it and replace the two cracked "
    "shingles on Tuesday morning.</p>",
    "<p>Hi {first},</p><p>Following up on the quote from last week. The crew has an opening "
    "on the 14th \u2014 shall I pencil you in?</p><p>Best,<br>The Acme Roofing team</p>",
    "<p>Hi {first}, good news: the permit came through. We\u2019ll start at 8 am.</p>",
    "<p>Hi {first},</p><p>Here is the revised estimate with the gutter guards included: "
    '<a href="https://quotes.example.com/review">review it online</a>. Financing is '
    "available over 12 or 24 months.</p><p>Let me know if you have any questions.</p>",
)
TEXTS = (
    "Hi {first}, we're on our way, about 20 minutes out.",
    "Hi {first}, just checking the side gate will be open tomorrow?",
    "Thanks {first}! Invoice sent by email. \U0001f44d",
)
FAILURES = ("550 5.1.1 mailbox unavailable", "Twilio 30003: unreachable destination handset")


def _history(organization: Any, conversation: Any, rng: random.Random) -> list[Any]:
    """RESPONSE_DRAFTS response drafts in `conversation`, oldest first, as an AI rep drafts
    over months: each sent (scheduled, one attempt, the provider's id), failed (three attempts
    and the error) or superseded by the next one; the newest pending. A fifth are texts;
    a quarter of the emails have copies."""
    from django.utils import timezone

    from apps.drafts.models import DraftStatus, ResponseDraft

    first = (conversation.contact.name or "there").split()[0]
    # Ten minutes to two days apart, compressed if need be to end an hour ago at the latest.
    gaps = [rng.randint(600, 2 * 86400) for _ in range(RESPONSE_DRAFTS)]
    room = (timezone.now() - timedelta(hours=1) - conversation.start_at).total_seconds()
    scale = min(1.0, room / sum(gaps))
    drafts = []
    created_at = conversation.start_at
    for number in range(RESPONSE_DRAFTS):
        created_at += timedelta(seconds=int(gaps[number] * scale))
        text = rng.random() < 0.2
        pending = number == RESPONSE_DRAFTS - 1
        status = (
            DraftStatus.PENDING
            if pending
            else rng.choices(
                (DraftStatus.SENT, DraftStatus.SUPERSEDED, DraftStatus.FAILED), (5, 4, 1)
            )[0]
        )
        scheduled = status in (DraftStatus.SENT, DraftStatus.FAILED)
        scheduled_send_at = created_at + timedelta(seconds=rng.randint(30, 3600))
        draft = ResponseDraft(
            organization=organization,
            public_id=_public_id(rng, "rdr"),
            message_public_id=_public_id(rng, "msg"),
            conversation=conversation,
            modality="text" if text else "email",
            body_html=rng.choice(TEXTS if text else BODIES).format(first=first),
            cc_emails=[] if text or rng.random() < 0.75 else ["office@example.com"],
            bcc_emails=[] if text or rng.random() < 0.9 else ["records@acme-roofing.example"],
            scheduled_to_send=scheduled,
            status=status,
            scheduled_send_at=scheduled_send_at if scheduled else None,
            sent_at=scheduled_send_at + timedelta(seconds=2) if status == "sent" else None,
            created_at=created_at,
            updated_at=created_at,
            attempts={DraftStatus.SENT: 1, DraftStatus.FAILED: 3}.get(status, 0),
            last_error=rng.choice(FAILURES) if status == DraftStatus.FAILED else None,
            provider_message_id=f"SM{rng.getrandbits(128):032x}" if scheduled else None,
            delivery_status="delivered" if status == DraftStatus.SENT else None,
        )
        drafts.append(draft)
    for draft, after in itertools.pairwise(drafts):
        # Superseded when the next one was drafted; sent or failed at its scheduled time.
        if draft.status == DraftStatus.SUPERSEDED:
            draft.updated_at = after.created_at
        elif draft.scheduled_send_at is not None:
            draft.updated_at = draft.sent_at or draft.scheduled_send_at
    return drafts


def _public_id(rng: random.Random, prefix: str) -> str:
    # From the seeded generator (not ids.mint), so that every run has the same ids.
    from hyperrep import ids

    return f"{prefix}_" + "".join(rng.choice(ids.BASE62) for _ in range(ids.MINTED_LENGTH))


# -- 2. the SQL of a page -----------------------------------------------------------------------


def _load_paths(seeded: Seeded) -> dict[str, dict[str, str]]:
    from bench.raw_floor import RAW_PREFIX
    from bench.urls import FLOOR_PREFIX

    org = seeded.organization_id
    drafts = f"conversations/{seeded.drafted_conversation_id}/response-drafts?limit={LIMIT}"
    return {
        f".../{list_}": {
            "api": f"/api/v2/organizations/{org}/{list_}",
            "floor": f"{FLOOR_PREFIX}{org}/{list_}",
            "raw": f"{RAW_PREFIX}{org}/{list_}",
        }
        for list_ in (f"sales?limit={LIMIT}", drafts)
    }


def _queries(seeded: Seeded, paths: dict[str, dict[str, str]]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = harness.client(seeded.api_key)
    out = [
        "## The SQL of a page\n",
        "Every statement the API sent for the page (captured with CaptureQueriesContext, after "
        "one request that did the once-a-minute `last_used_at` write), each SELECT under "
        "EXPLAIN (ANALYZE, BUFFERS) after one warm-up run, with its median round trip over "
        f"{harness.EXPLAIN_REPEATS} runs (Django's cursor, one connection).\n",
    ]
    plans = []
    for label, path in paths.items():
        client.get(path["api"])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path["api"]).status_code == 200
        out += [
            f"`{label}`:\n",
            "| # | statement | execution | shared buffers | median round trip |",
            "|---|---|---|---|---|",
        ]
        for number, query in enumerate(captured, 1):
            sql = query["sql"]
            short = sql if len(sql) <= 60 else f"{sql[:40]} … {sql[-16:]}"
            if not sql.startswith("SELECT") or sql == "SELECT 1":
                out.append(f"| {number} | `{short}` | - | - | {query['time']} s (as sent) |")
                continue
            plan, median = harness.explain(sql)
            out.append(
                f"| {number} | `{short}` | {harness.plan_value(plan, 'Execution Time:')} "
                f"| {harness.buffers(plan)} | {median:.3f} ms |"
            )
            plans.append(
                f"`{label}`, statement {number}:\n\n```sql\n{sql}\n```\n\n```\n{plan}\n```\n"
            )
        out.append("")
    harness.say("explained every statement")
    return [*out, "<details><summary>SQL and plans</summary>\n", *plans, "</details>\n"]


# -- 5. where the time goes ---------------------------------------------------------------------

# (file, function) -> label, as bench/contacts_list.py's.
PHASES = {
    ("django/core/handlers/base.py", "get_response"): "whole request (middleware included)",
    ("rest_framework/views.py", "dispatch"): "the view",
    ("bench/floor.py", "sales_floor"): "the view",
    ("bench/floor.py", "response_drafts_floor"): "the view",
    ("apps/keys/services.py", "api_key_authenticate"): "API key and organization: query + HMAC",
    ("hyperrep/tenancy/models.py", "get_by_public_id"): "parent conversation: query",
    ("bench/floor.py", "narrow"): "parent conversation: query",
    ("rest_framework/generics.py", "filter_queryset"): "django-filter FilterSet",
    ("hyperrep/api/pagination.py", "paginate_queryset"): "paginator (page query, rows, prefetch)",
    ("django/db/models/query.py", "prefetch_related_objects"): "prefetch_related (3 queries)",
    ("bench/floor.py", "prefetch"): "prefetch_related (3 queries)",
    ("django/db/models/sql/compiler.py", "as_sql"): "SQL compilation",
    ("django/db/models/base.py", "from_db"): "model instances",
    ("rest_framework/serializers.py", "data"): "serializer",
    ("hyperrep/api/renderers.py", "render"): "JSON encoding",
    ("rest_framework/renderers.py", "render"): "JSON encoding",
    ("~", "<built-in method orjson.dumps>"): "JSON encoding",
    ("json/__init__.py", "dumps"): "JSON encoding",
    ("json/__init__.py", "loads"): "jsonb text to objects (floor)",
    ("hyperrep/api/pagination.py", "encode_cursor"): "next_cursor (Fernet)",
    ("psycopg/connection.py", "wait"): "waiting on PostgreSQL",
}


def _profiles(seeded: Seeded, paths: dict[str, dict[str, str]]) -> list[str]:
    out = []
    for label, path in paths.items():
        out += [
            f"## Where the time goes: `{label}` (cProfile, in-process, Django test client)\n",
            *harness.profile_phases(seeded.api_key, [path["api"], path["floor"]], PHASES),
            "",
        ]
    return out


if __name__ == "__main__":
    main()
