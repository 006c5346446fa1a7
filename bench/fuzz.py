"""Schema fuzzing, the long run: tests/api/test_fuzz.py with many more examples per operation.

    .venv/bin/python -m bench.fuzz [--examples 200] [--stateful-examples 400] [--report FILE]

It runs the test module (pytest, so the database is pytest-django's test database of
DATABASE_URL: `test_<name>` on PostgreSQL, in memory on SQLite) with FUZZ_EXAMPLES and
FUZZ_STATEFUL_EXAMPLES set, and counts, through schemathesis' `after_validate` hook, every
answer checked: by phase, by operation and by check, and each distinct failure. It prints the
summary and writes it to bench/results/fuzz.md (`--report -` prints only). The exit status is
pytest's. Examples are derandomized, so a run is repeatable for one schema and one server.
"""

import argparse
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "results" / "fuzz.md"


@dataclass
class Tally:
    """What the hook saw."""

    answers: int = 0
    by_phase: Counter[str] = field(default_factory=Counter)
    by_mode: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    # (check, operation, title) -> [how often, the message, the request] of the last seen
    # (the shrunk one, when hypothesis shrank it)
    failures: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)

    def record(self, case: Any, response: Any, results: list[Any]) -> None:
        self.answers += 1
        meta = case.meta
        self.by_phase[meta.phase.name.value if meta else "explicit"] += 1
        self.by_mode[meta.generation.mode.value if meta else "explicit"] += 1
        self.by_operation[case.operation.label] += 1
        self.by_status[response.status_code] += 1
        for result in results:
            self.runs[result.name] += 1
            if result.failure is not None:
                self.failed[result.name] += 1
                key = (result.name, case.operation.label, result.failure.title)
                entry = self.failures.setdefault(key, [0, "", ""])
                entry[0] += 1
                entry[1] = result.failure.message
                entry[2] = f"{response.status_code} {response.text[:200]!r} to " + (
                    case.as_curl_command(base_url="http://localhost")
                )


TALLY = Tally()


class Collector:
    """A pytest plugin: the per-test outcome, beside the hook's per-answer tally."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.durations: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: Any) -> None:
        # Every operation's test has the same node id; its name says the operation.
        name = report.head_line or report.nodeid
        self.durations[name] += report.duration
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[name] = report.outcome


def register_hook() -> None:
    import schemathesis

    @schemathesis.hook
    def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
        TALLY.record(case, response, results)


def database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return f"PostgreSQL (test database of {url.rsplit('/', 1)[-1]})"
    return "SQLite (pytest-django's in-memory test database)"


def render(args: argparse.Namespace, exit_code: int, seconds: float, collector: Collector) -> str:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    tests = collector.outcomes
    failed_tests = sorted(node for node, outcome in tests.items() if outcome != "passed")
    lines = [
        "# Schema fuzzing: results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC of commit {harness.revision()}, on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {database()}; load "
        f"average at start {args.load:.2f}.",
        "",
        f"Command: `{args.command}`",
        "",
        f"- Operations: {len(TALLY.by_operation)} (tests: {len(tests)}, "
        f"failed: {len(failed_tests)}); pytest exit status {exit_code}.",
        f"- Answers checked: {TALLY.answers:,} "
        + "("
        + ", ".join(f"{phase} {count:,}" for phase, count in sorted(TALLY.by_phase.items()))
        + "; "
        + ", ".join(f"{mode} {count:,}" for mode, count in sorted(TALLY.by_mode.items()))
        + ").",
        "- Statuses: "
        + ", ".join(f"{status}: {count:,}" for status, count in sorted(TALLY.by_status.items()))
        + ".",
        f"- Duration: {seconds:.0f} s.",
        "",
        "| check | answers | failures |",
        "|---|---|---|",
    ]
    names = [*CHECKS.get_all_names(), *sorted(set(TALLY.runs) - set(CHECKS.get_all_names()))]
    for name in names:
        lines.append(f"| `{name}` | {TALLY.runs[name]:,} | {TALLY.failed[name]:,} |")
    lines += [
        "",
        "`answers`: the answers the check was run on. A check passes the answers it has "
        "nothing to say about (the stateful ones judge chains of calls, `unsupported_method` "
        "and `missing_required_header` the coverage phase's probes, `ignored_auth` and "
        "`object_level_authorization` send probes of their own, without the key or with "
        "the other organization's). Shrinking a failure re-runs its example, so a failure is "
        "counted each time it was seen.",
        "",
    ]
    if TALLY.failures:
        lines += ["## Failures", ""]
        for (check, operation, title), (count, message, request) in sorted(TALLY.failures.items()):
            text = " ".join(str(message).split())[:300]
            lines.append(f"- `{check}` on `{operation}` ({count} times): {title}. {text}")
            lines.append(f"  Answered {request}")
        lines.append("")
    if failed_tests:
        lines += ["Failed tests:", "", *[f"- `{node}`" for node in failed_tests], ""]
    slowest = sorted(collector.durations.items(), key=lambda item: -item[1])[:5]
    lines += [
        "Slowest tests: " + ", ".join(f"`{name}` {spent:.1f} s" for name, spent in slowest) + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Schema fuzzing, the long run.")
    parser.add_argument("--examples", type=int, default=200, help="examples per operation")
    parser.add_argument(
        "--stateful-examples",
        type=int,
        default=None,
        help="stateful scenarios (default: 2 x examples)",
    )
    parser.add_argument("--report", default=str(REPORT), help="where to write it; - for none")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    args.command = "python -m bench.fuzz " + " ".join(sys.argv[1:])
    args.load = os.getloadavg()[0]
    os.environ["FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["FUZZ_STATEFUL_EXAMPLES"] = str(args.stateful_examples or 2 * args.examples)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperrep.settings")

    import pytest

    register_hook()
    collector = Collector()
    started = time.monotonic()
    exit_code = pytest.main(
        [
            str(ROOT / "tests" / "api" / "test_fuzz.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:logging",
            "--show-capture=no",
            "--tb=line",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            *args.pytest_args,
        ],
        plugins=[collector],
    )
    report = render(args, int(exit_code), time.monotonic() - started, collector)
    print(report)
    if args.report != "-":
        Path(args.report).write_text(report)
        print(f"[bench] wrote {args.report}")
    sys.exit(int(exit_code))


if __name__ == "__main__":
    main()
