"""The import/export benchmark, end to end:

    .venv/bin/python -m bench.import_messages [--messages 1000000] [--keep FILE]

1. Writes a JSON Lines file in export form (bench/results/import.md says what is in it) to a
   temporary directory: 1 organization, 12 agents, 400 companies, 20,000 contacts, 100,000
   conversations, 1,000,000 messages and 2,000 sales, from a fixed seed, so every run imports
   the same bytes. Smaller runs scale every count with --messages.
2. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_import; its name must contain "bench",
   as it is dropped) and migrates it.
3. Runs `manage.py import_data FILE` as a child process: wall time, CPU time and peak RSS
   (os.wait4 gives that one child's rusage). Checks the row counts.
4. Runs the same import again (every row exists: the idempotent path) and checks that the
   row counts did not move.
5. Runs `manage.py export_data --organization ORG -o FILE2` the same way, and checks that the
   export is byte-identical to the file imported.

Targets: the import under 3 minutes and under 500 MiB peak RSS. Results go to
bench/results/import.md. The commands run in child processes, as they would for an
operator; this process only writes the file and times them.
"""

import argparse
import filecmp
import heapq
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bench import harness
from hyperrep.jsonb import canonical

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_import"
SEED = 20_261_125
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
TARGET_SECONDS = 180
TARGET_RSS_MIB = 500


# -- 1. the file ------------------------------------------------------------------------------


@dataclass
class Sizes:
    messages: int

    @property
    def conversations(self) -> int:
        return max(1, self.messages // 10)

    @property
    def contacts(self) -> int:
        return max(1, self.messages // 50)

    @property
    def companies(self) -> int:
        return max(1, self.messages // 2_500)

    @property
    def sales(self) -> int:
        return max(1, self.messages // 500)

    agents = 12


def dumps(obj: dict[str, Any]) -> str:
    """export_data's bytes for a line (apps/transfer/exporter.py)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def instant(value: datetime) -> str:
    """hyperrep.api.serializers.format_datetime: microseconds only when non-zero."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Sale outcomes after "Quote sent": still open, each status, and a custom stage (status null).
OUTCOMES: list[list[tuple[str, str | None]]] = [
    [],
    [("Accepted", "accepted")],
    [("Declined", "declined")],
    [("Lost", "lost")],
    [("Site visit", None)],
]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


WORDS = [
    "roof",
    "gutter",
    "leak",
    "quote",
    "storm",
    "shingle",
    "skylight",
    "inspection",
    "tuesday",
    "morning",
    "invoice",
    "estimate",
    "flashing",
    "chimney",
    "attic",
    "warranty",
    "crew",
    "ladder",
    "downspout",
    "insurance",
    "photo",
    "visit",
    "schedule",
    "replace",
    "repair",
    "moss",
    "valley",
    "ridge",
    "vent",
    "soffit",
    "fascia",
    "permit",
    "deposit",
]
FIRST = [
    "Pat",
    "Sam",
    "Alex",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "José",
    "Zoë",
]
LAST = [
    "Doe",
    "Lee",
    "Smith",
    "García",
    "Müller",
    "Nguyen",
    "Okafor",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Haddad",
    "Silva",
]


class Generator:
    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.rng = random.Random(SEED)
        self.organization_id = self.mint("org")

    def mint(self, prefix: str) -> str:
        return f"{prefix}_" + "".join(self.rng.choices(BASE62, k=22))

    def text(self, low: int, high: int) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def when(self, start: datetime, spread_seconds: int) -> datetime:
        moment = start + timedelta(seconds=self.rng.randrange(spread_seconds))
        # A third of the timestamps carry microseconds, as rows made by the API do.
        if self.rng.random() < 0.33:
            moment += timedelta(microseconds=self.rng.randrange(1, 1_000_000))
        return moment

    def line(self, kind: str, **fields: Any) -> str:
        return dumps({"type": kind, "organization_id": self.organization_id, **fields})

    def write(self, out: TextIO) -> dict[str, int]:
        rng, sizes = self.rng, self.sizes
        head = {"organization_id": self.organization_id, "name": "Bench import org"}
        out.write(dumps({"type": "organization", **head}) + "\n")
        agents = [self.mint("agt") for _ in range(sizes.agents)]
        for number, agent_id in enumerate(agents):
            name = f"{FIRST[number % len(FIRST)]} {LAST[number % len(LAST)]}"
            out.write(
                self.line(
                    "agent", agent_id=agent_id, name=name, email=f"agent{number}@acme.example"
                )
                + "\n"
            )
        companies = [self.mint("cmp") for _ in range(sizes.companies)]
        for number, company_id in enumerate(companies):
            custom = canonical({"tier": rng.choice(["gold", "silver", "bronze"]), "seats": number})
            out.write(
                self.line(
                    "company",
                    company_id=company_id,
                    name=f"Company {number:05d}",
                    domain=f"company{number}.example.com",
                    custom_fields=custom,
                    address=f"{number} Main Street\nSpringfield",
                    agent_id=rng.choice([*agents, None]),
                    created_at=instant(self.when(EPOCH, 30 * 86_400)),
                )
                + "\n"
            )
        contacts = [self.mint("ctc") for _ in range(sizes.contacts)]
        for number, contact_id in enumerate(contacts):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            out.write(
                self.line(
                    "contact",
                    contact_id=contact_id,
                    name=name,
                    email=f"contact{number}@example.org" if rng.random() < 0.9 else None,
                    phone_number=f"+1 555 {number:07d}" if rng.random() < 0.6 else None,
                    created_at=instant(self.when(EPOCH + timedelta(days=30), 60 * 86_400)),
                    company_id=rng.choice(companies) if rng.random() < 0.8 else None,
                    custom_fields=canonical({"source": rng.choice(["web", "phone", "referral"])})
                    if rng.random() < 0.5
                    else {},
                    company_role=rng.choice(["Owner", "Manager", None]),
                )
                + "\n"
            )
        counts = self.message_counts()
        starts = [self.when(EPOCH + timedelta(days=90), 270 * 86_400) for _ in range(len(counts))]
        gaps = [rng.randint(60, 2 * 86_400) for _ in range(len(counts))]
        conversations = [self.mint("cnv") for _ in range(len(counts))]
        for index, conversation_id in enumerate(conversations):
            last = starts[index] + timedelta(seconds=gaps[index] * (counts[index] - 1))
            out.write(
                self.line(
                    "conversation",
                    conversation_id=conversation_id,
                    start_at=instant(starts[index]),
                    last_activity_at=instant(last),
                    folder=rng.choice(["inbox", "inbox", "inbox", "sales-follow-up", "archive"]),
                    is_read=rng.random() < 0.7,
                    contact_id=rng.choice(contacts),
                    agent_id=rng.choice([*agents, None]),
                )
                + "\n"
            )
        # Messages in time order across conversations, as a live database fills up.
        heap = [(starts[index], index, 0) for index in range(len(counts))]
        heapq.heapify(heap)
        links = 0
        while heap:
            sent_at, index, number = heapq.heappop(heap)
            if number + 1 < counts[index]:
                following = sent_at + timedelta(seconds=gaps[index])
                heapq.heappush(heap, (following, index, number + 1))
            links += self.message(out, conversations[index], sent_at, agents)
        sales = self.sales(out, agents, companies, contacts, conversations)
        return {
            "agents": len(agents),
            "companies": len(companies),
            "contacts": len(contacts),
            "conversations": len(conversations),
            "messages": sum(counts),
            "tracked links": links,
            "sales": sales,
        }

    def message_counts(self) -> list[int]:
        """Messages per conversation: 10 on average, from 1 to about 40, summing exactly."""
        rng, total = self.rng, self.sizes.messages
        counts = [total // self.sizes.conversations] * self.sizes.conversations
        counts[-1] += total - sum(counts)
        for _ in range(len(counts) * 2):
            giver, taker = rng.randrange(len(counts)), rng.randrange(len(counts))
            if counts[giver] > 1:
                counts[giver] -= 1
                counts[taker] += 1
        return counts

    def message(
        self, out: TextIO, conversation_id: str, sent_at: datetime, agents: list[str]
    ) -> int:
        rng = self.rng
        modality = rng.choices(
            ["email", "text", "call", "live_chat", "form"], weights=[45, 25, 10, 12, 8]
        )[0]
        direction = "received" if modality == "form" or rng.random() < 0.5 else "sent"
        sent = direction == "sent"
        message_id = self.mint("msg")
        links = []
        if modality == "email" and sent and rng.random() < 0.3:
            links = [
                {
                    "link_id": self.mint("lnk"),
                    "url": f"https://acme.example/q/{rng.randrange(10**6)}?utm_source=email",
                    "click_count": rng.randrange(5),
                }
                for _ in range(rng.randint(1, 2))
            ]
        subject = self.text(3, 8) if modality in ("email", "form") else None
        form = None
        if modality == "form":
            form = canonical(
                {
                    "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "email": f"lead{rng.randrange(10**6)}@example.org",
                    "message": self.text(10, 30),
                }
            )
        drafted = sent_at - timedelta(seconds=rng.randint(5, 600)) if sent else None
        out.write(
            self.line(
                "message",
                message_id=message_id,
                conversation_id=conversation_id,
                agent_id=rng.choice(agents) if sent else None,
                modality=modality,
                message_direction=direction,
                is_form_request=modality == "form",
                subject=subject,
                content=None if modality in ("call", "form") else self.text(8, 60),
                call_transcript=self.text(40, 120) if modality == "call" else None,
                form_request_body=form,
                sent_at=instant(sent_at),
                drafted_at=instant(drafted) if drafted else None,
                email_metadata={
                    "email_message_id": f"<{message_id}@mail.acme.example>"
                    if modality == "email"
                    else None,
                    "cc_emails": ["ops@example.org"]
                    if modality == "email" and rng.random() < 0.2
                    else [],
                    "bcc_emails": [],
                },
                call_metadata={"duration": rng.randint(20, 1800) if modality == "call" else None},
                tracked_links=links,
            )
            + "\n"
        )
        return len(links)

    def sales(
        self,
        out: TextIO,
        agents: list[str],
        companies: list[str],
        contacts: list[str],
        conversations: list[str],
    ) -> int:
        rng = self.rng
        for _ in range(self.sizes.sales):
            created = self.when(EPOCH + timedelta(days=90), 270 * 86_400)
            history: list[dict[str, Any]] = []
            moment = created
            stages: list[tuple[str, str | None]] = [("Quote sent", "quote_sent")]
            stages += rng.choice(OUTCOMES)
            for label, status in stages:
                moment += timedelta(seconds=rng.randint(60, 14 * 86_400))
                history.append({"label": label, "status": status, "changed_at": instant(moment)})
            cents = [
                (rng.randint(1, 5), rng.randint(5_000, 500_000)) for _ in range(rng.randint(1, 3))
            ]
            products = [
                {
                    "quantity": quantity,
                    "unit_price": money(price),
                    "product_name": rng.choice(WORDS),
                }
                for quantity, price in cents
            ]
            total = money(sum(quantity * price for quantity, price in cents))
            line: dict[str, Any] = {
                "sale_id": self.mint("sal"),
                "associated_conversation_ids": rng.sample(conversations, rng.randint(0, 2)),
                "company_id": rng.choice(companies),
                "owner_id": rng.choice(agents),
                "associated_contacts": [
                    {"contact_id": contact, "is_primary": number == 0}
                    for number, contact in enumerate(rng.sample(contacts, rng.randint(1, 2)))
                ],
                "quote_details": {
                    "output": {"currency": "USD", "total_price": total},
                    "arguments": {"products": products},
                    "agent_overrides": {},
                },
                "custom_fields": {},
                "current_status": history[-1],
                "status_history": history,
                "created_at": instant(created),
                "last_activity_at": history[-1]["changed_at"],
            }
            if rng.random() < 0.05:
                line["is_draft"] = True
            out.write(self.line("sale", **line) + "\n")
        return self.sizes.sales


# -- 2-5. the database and the commands -------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    max_rss_mib: float
    load_before: float
    load_after: float
    stdout: str


def manage(*args: str) -> Run:
    """`manage.py ARGS` as a child process: its wall time, CPU time and peak RSS."""
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    command = [sys.executable, "manage.py", *args]
    process = subprocess.Popen(  # noqa: S603  (fixed arguments, no shell)
        command, cwd=harness.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # wait4 reports this child's own rusage (RUSAGE_CHILDREN would mix in earlier children).
    # The pipes are small (a summary line), so waiting before reading cannot block.
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout = process.stdout.read().decode() if process.stdout else ""
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({process.returncode}):\n{stderr}")
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        load_before=load_before,
        load_after=os.getloadavg()[0],
        stdout=stdout.strip(),
    )


TABLES = {
    "organizations": "organizations_organization",
    "agents": "agents_agent",
    "companies": "companies_company",
    "contacts": "contacts_contact",
    "conversations": "conversations_conversation",
    "messages": "conversations_message",
    "tracked links": "conversations_trackedlink",
    "sales": "sales_sale",
    "sale contacts": "sales_salecontact",
    "sale conversations": "sales_saleconversation",
    "status changes": "sales_salestatuschange",
}


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        return {
            label: connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
            for label, table in TABLES.items()
        }


def main() -> None:
    parser = argparse.ArgumentParser(description="import_data / export_data benchmark.")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the generated file at this path")
    parser.add_argument("--output", type=Path, default=harness.RESULTS / "import.md")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DJANGO_SETTINGS_MODULE"] = "hyperrep.settings"
    os.environ["DEBUG"] = "0"
    sizes = Sizes(args.messages)
    workdir = Path(tempfile.mkdtemp(prefix="hyperrep-bench-import-"))
    try:
        source = workdir / "import.jsonl"
        exported = workdir / "export.jsonl"
        harness.say(f"writing {sizes.messages:,} messages to {source}")
        started = time.monotonic()
        generator = Generator(sizes)
        with source.open("w", encoding="utf-8") as out:
            generated = generator.write(out)
        generate_seconds = time.monotonic() - started
        size_mib = source.stat().st_size / 2**20
        lines = sum(1 for _ in source.open("rb"))
        harness.say(f"wrote {lines:,} lines, {size_mib:.0f} MiB, in {generate_seconds:.0f} s")

        harness.recreate_database(url)
        manage("migrate", "--no-input", "-v", "0")
        header = harness.machine()

        harness.say("import into the empty database")
        first = manage("import_data", str(source))
        counts = row_counts(url)
        expected = {label: generated[label] for label in generated}
        for label, number in expected.items():
            assert counts[label] == number, (label, counts[label], number)
        harness.say(f"import: {first.wall:.1f} s, {first.max_rss_mib:.0f} MiB ({first.stdout})")

        harness.say("import again (every row exists)")
        again = manage("import_data", str(source))
        assert row_counts(url) == counts, "a re-import changed the row counts"
        harness.say(f"re-import: {again.wall:.1f} s, {again.max_rss_mib:.0f} MiB")

        harness.say("export")
        export = manage(
            "export_data", "--organization", generator.organization_id, "-o", str(exported)
        )
        identical = filecmp.cmp(source, exported, shallow=False)
        assert identical, "the export differs from the file imported"
        harness.say(f"export: {export.wall:.1f} s, {export.max_rss_mib:.0f} MiB, byte-identical")
        if args.keep:
            shutil.copyfile(source, args.keep)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report = render(
        header=header,
        sizes=sizes,
        counts=counts,
        lines=lines,
        size_mib=size_mib,
        generate_seconds=generate_seconds,
        runs={
            "import (empty database)": first,
            "re-import (every row exists)": again,
            "export": export,
        },
    )
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(report)
    harness.say(f"wrote {args.output}")


def render(
    *,
    header: str,
    sizes: Sizes,
    counts: dict[str, int],
    lines: int,
    size_mib: float,
    generate_seconds: float,
    runs: dict[str, Run],
) -> str:
    first = runs["import (empty database)"]
    out = [
        "# import_data / export_data benchmark: results\n",
        header + "\n",
        f"Command: `.venv/bin/python -m bench.import_messages --messages {sizes.messages}` "
        f"(DATABASE_URL {urlsplit(os.environ['DATABASE_URL'])._replace(netloc='…').geturl()}).\n",
        f"The file: {lines:,} lines, {size_mib:.0f} MiB of JSON Lines in export form, written "
        f"in {generate_seconds:.0f} s from seed {SEED}. Rows after the import:\n",
        "| table | rows |",
        "|---|---|",
        *(f"| {label} | {number:,} |" for label, number in counts.items()),
        "",
        "Each step is `manage.py` in a child process (settings hyperrep.settings, DEBUG=0); "
        "wall time, CPU time (user + system of that process, not PostgreSQL's) and peak RSS "
        "from its own rusage (os.wait4). The load average is the 1-minute figure before and "
        "after the step: with 2 cores, anything above about 1 before a step means other "
        "work shared the machine.\n",
        "| step | wall | CPU | peak RSS | load before → after |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {run.wall:.1f} s | {run.cpu:.1f} s | {run.max_rss_mib:.0f} MiB "
            f"| {run.load_before:.2f} → {run.load_after:.2f} |"
            for name, run in runs.items()
        ),
        "",
        f"- Import under {TARGET_SECONDS} s: "
        f"{'met' if first.wall < TARGET_SECONDS else 'NOT met'} ({first.wall:.1f} s, "
        f"{sizes.messages / first.wall:,.0f} messages/s overall).",
        f"- Import under {TARGET_RSS_MIB} MiB peak RSS: "
        f"{'met' if first.max_rss_mib < TARGET_RSS_MIB else 'NOT met'} "
        f"({first.max_rss_mib:.0f} MiB).",
        "- Re-import left every row count as it was (checked); the export is byte-identical "
        "to the file imported (checked).",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
