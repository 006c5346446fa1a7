"""The five lists' CPU per request, as instructions counted by valgrind: the API against its
Django floor, in one process, whatever else the machine is doing.

    .venv/bin/python -m bench.instructions [--messages 30000] [--requests 30]

A shared machine's speed moves by a third from one minute to the next, so a change of a few
percent cannot be seen in requests/second; callgrind's count of the instructions executed
is the same from run to run for the same code and data. What it leaves out: the time spent
waiting on PostgreSQL (another process) and cache misses. It is how each change of issue 16
was judged before the load runs (bench/README.md, "Lists against their floors").

1. (Re)creates the database of DATABASE_URL (default hyperrep_bench_instructions; its name
   must contain "bench") and seeds it as bench/conversation_lists.py does, scaled to
   `--messages`.
2. Runs itself under `valgrind --tool=callgrind --instr-atstart=no`: each list's API path
   and floor path get a warm-up, then `--requests` requests through Django's WSGI handler
   with counting switched on (callgrind_control), each dumped on its own.

Results go to bench/results/instructions.md. Needs valgrind (Debian's package).
"""

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import harness

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_instructions"
LISTS = {  # name: (path under the organization, limit)
    "contacts": ("contacts", 100),
    "conversations": ("conversations", 100),
    "messages": ("conversations/{conversation}/messages", 500),
    "sales": ("sales", 100),
    "response-drafts": ("conversations/{conversation}/response-drafts", 100),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Instructions per list request (callgrind).")
    parser.add_argument("--messages", type=int, default=30_000, help="demo organization size")
    parser.add_argument("--requests", type=int, default=30, help="counted requests per path")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's run
    args = parser.parse_args()
    if args.measure:
        return _measure(json.loads(args.measure.read_text()), args.requests)

    from bench import conversation_lists

    harness.fresh_django(DEFAULT_DATABASE_URL)
    seeded = conversation_lists._seed(args.messages)
    with tempfile.TemporaryDirectory() as scratch:
        plan = Path(scratch, "plan.json")
        plan.write_text(json.dumps({"api_key": seeded.api_key, "paths": _paths(seeded)}))
        outputs = Path(scratch, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={outputs}.%p", sys.executable, "-m", "bench.instructions",
            "--measure", str(plan), "--requests", str(args.requests),
        ]  # fmt: skip
        subprocess.run(command, cwd=harness.ROOT, check=True, capture_output=True)  # noqa: S603
        counted = _totals(Path(scratch), args.requests)
    lines = [f"# Instructions per list request (callgrind)\n\n{harness.machine()}\n"]
    lines += [
        f"Data: `seed_demo --messages {args.messages}` and bench/conversation_lists.py's long "
        f"conversation; {args.requests} counted requests per path after a warm-up, in one "
        "process, through Django's WSGI handler (no gunicorn, no client).\n",
        "| list | API | Django floor | API / floor (the floor's share of the API's count) |",
        "|---|---|---|---|",
    ]
    for name in LISTS:
        api, floor = counted[f"{name}:api"], counted[f"{name}:floor"]
        lines.append(f"| {name} | {api / 1e6:.2f} M | {floor / 1e6:.2f} M | {floor / api:.0%} |")
    harness.write_report("instructions.md", lines)
    print("\n".join(lines[1:]))


def _paths(seeded: object) -> dict[str, str]:
    from bench.urls import FLOOR_PREFIX

    organization = seeded.organization_id  # type: ignore[attr-defined]
    conversation = seeded.long_conversation_id  # type: ignore[attr-defined]
    paths = {}
    for name, (path, limit) in LISTS.items():
        tail = f"{organization}/{path.format(conversation=conversation)}?limit={limit}"
        paths[f"{name}:api"] = f"/api/v2/organizations/{tail}"
        paths[f"{name}:floor"] = f"{FLOOR_PREFIX}{tail}"
    return paths


def _measure(plan: dict, requests: int) -> None:
    """In the child, under callgrind: each path's requests counted and dumped on their own."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler, me = WSGIHandler(), str(os.getpid())

    def request(path: str) -> None:
        route, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
            "HTTP_X_API_KEY": plan["api_key"], "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }  # fmt: skip
        start: Any = lambda status, headers, exc_info=None: None  # noqa: E731
        answer = handler(environ, start)
        b"".join(answer)
        answer.close()  # request_finished, as a server sends it

    for name, path in plan["paths"].items():
        for _ in range(5):
            request(path)
        gc.collect()
        _callgrind("-z", me)  # zero the counts
        _callgrind("-i", "on", me)
        for _ in range(requests):
            request(path)
        _callgrind("-i", "off", me)
        _callgrind("-d", name, me)  # dump them, named


def _callgrind(*arguments: str) -> None:
    subprocess.run(["callgrind_control", *arguments], check=True, capture_output=True)  # noqa: S603, S607


def _totals(scratch: Path, requests: int) -> dict[str, float]:
    """Instructions per request of each dump, by the name it was dumped with."""
    counted = {}
    for dump in scratch.glob("callgrind.out.*.*"):
        text = dump.read_text(errors="replace").splitlines()
        name = next(line for line in text if line.startswith("desc: Trigger: dump "))[20:]
        total = next(line for line in text if line.startswith("totals: "))
        counted[name] = int(total.split()[1]) / requests
    return counted


if __name__ == "__main__":
    main()
