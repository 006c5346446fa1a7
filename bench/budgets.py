"""What rate limiting (and the idempotency check every POST makes) costs a read:

    .venv/bin/python -m bench.budgets [--seconds 4] [--rounds 6]

`GET /api/v2/organizations/{org}/contacts?limit=100` (bench/seed_contacts.py's large
organization, PostgreSQL) through three gunicorn servers started side by side, alike but
for their budgets: none (`API_RATE_LIMIT=0`), counted in each process's memory, and counted
in Redis (127.0.0.1:6379, database 14, flushed first); and the no-DRF floor (bench/floor.py)
on the first. Each round loads every target in turn, the order alternating, with 1 and 8
clients; the figures pool the rounds, and the targets judge the medians of the rounds'
differences (other sessions may share the machine). The budget is large enough never to
refuse: what is measured is the counting. Then the same request in this process (Django's
test client, no network), the three settings interleaved request by request: the cost of
counting without the noise of the servers.

Results go to bench/results/budgets.md.
"""

import argparse
import statistics
import time

from bench import harness, load
from bench.seed_contacts import Seeded

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
NEVER_REFUSED = "100000000/minute"
CLIENTS = (1, 8)
SERVERS = {
    "no limits": {"API_RATE_LIMIT": "0"},
    "memory": {"API_RATE_LIMIT": NEVER_REFUSED},
    "redis": {"API_RATE_LIMIT": NEVER_REFUSED, "REDIS_URL": REDIS_URL},
}


def main() -> None:
    parser = argparse.ArgumentParser(description="The cost of rate limiting a read.")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=6, help="runs per target and level")
    args = parser.parse_args()
    started = time.monotonic()
    harness.fresh_django(DEFAULT_DATABASE_URL)
    import redis

    from bench.seed_contacts import seed

    redis.Redis.from_url(REDIS_URL).flushdb()
    seeded = seed()
    harness.say(f"seeded {seeded.contacts} contacts")
    lines = [f"# The cost of rate limits: results\n\n{harness.machine()}\n"]
    with (
        harness.gunicorn(SERVERS["no limits"], log="budgets-none") as none,
        harness.gunicorn(SERVERS["memory"], log="budgets-memory") as memory,
        harness.gunicorn(SERVERS["redis"], log="budgets-redis") as in_redis,
    ):
        ports = {"no limits": none, "memory": memory, "redis": in_redis, "floor": none}
        lines += _loads(seeded, ports, seconds=args.seconds, rounds=args.rounds)
    lines += _in_process(seeded)
    lines.append(f"Whole run: {time.monotonic() - started:.0f} s.\n")
    harness.write_report("budgets.md", lines)


def _paths(seeded: Seeded) -> dict[str, str]:
    from bench.urls import FLOOR_PREFIX

    api = f"/api/v2/organizations/{seeded.organization_id}/contacts?limit=100"
    return {
        **dict.fromkeys(SERVERS, api),
        "floor": f"{FLOOR_PREFIX}{seeded.organization_id}/contacts?limit=100",
    }


def _loads(seeded: Seeded, ports: dict[str, int], *, seconds: float, rounds: int) -> list[str]:
    headers = {"X-API-KEY": seeded.api_key}
    paths = _paths(seeded)
    for target in SERVERS:
        status, body = harness.get(ports[target], paths[target], headers)
        assert status == 200, body
    runs: dict[tuple[str, int], list[load.LoadResult]] = {}
    for level in CLIENTS:
        for target in paths:  # warm-up, not recorded
            load.run(
                harness.url(ports[target], paths[target]), headers=headers, clients=level, seconds=1
            )
        for round_ in range(rounds):
            order = list(paths)[:: 1 if round_ % 2 == 0 else -1]
            for target in order:
                result = load.run(
                    harness.url(ports[target], paths[target]),
                    headers=headers,
                    clients=level,
                    seconds=seconds,
                )
                assert result.errors == 0, f"{result.errors} non-200 answers from {target}"
                runs.setdefault((target, level), []).append(result)
                harness.say(f"{target:9} {result.summary()}")

    out = [
        f"`GET /api/v2/organizations/{{org}}/contacts?limit=100` ({seeded.contacts:,} contacts "
        f"seeded), three gunicorn servers with deploy/gunicorn.conf.py and {harness.workers()} "
        f"workers each, alike but for their budgets; closed-loop clients (bench/load.py, a new "
        f"connection a request), {rounds} rounds of {seconds:g} s per target and level, the "
        f"order alternating. `floor` is bench/floor.py (no DRF, no limits) on the first server.\n",
        "| clients | target | req/s | p50 | p99 | requests |",
        "|---|---|---|---|---|---|",
    ]
    for level in CLIENTS:
        for target in paths:
            merged = load.LoadResult.merge(runs[(target, level)])
            out.append(
                f"| {level} | {target} | {merged.rps:.0f} | {merged.percentile(50):.2f} ms "
                f"| {merged.percentile(99):.2f} ms | {merged.requests} |"
            )
    out += ["", "What counting adds to the p50 (median of the rounds' differences):", ""]
    for level in CLIENTS:
        base = runs[("no limits", level)]
        for target in ("memory", "redis"):
            added = statistics.median(
                with_.percentile(50) - without.percentile(50)
                for with_, without in zip(runs[(target, level)], base, strict=True)
            )
            verdict = "met" if added <= 0.3 else "NOT met"
            out.append(
                f"- {level} client(s), {target}: {added:+.2f} ms p50; target <= 0.3 ms: {verdict}."
            )
        share = statistics.median(
            limited.rps / floor.rps
            for limited, floor in zip(runs[("redis", level)], runs[("floor", level)], strict=True)
        )
        out.append(
            f"- {level} client(s): the API with Redis budgets at {share:.0%} of the floor's req/s."
        )
    out.append("")
    return out


IN_PROCESS_REQUESTS = 3000


def _in_process(seeded: Seeded) -> list[str]:
    from django.conf import settings

    from hyperrep import ratelimit

    client = harness.client(seeded.api_key)
    path = _paths(seeded)["no limits"]
    times: dict[str, list[float]] = {target: [] for target in SERVERS}
    for number in range(IN_PROCESS_REQUESTS + 100):
        for target, environment in SERVERS.items():
            settings.API_RATE_LIMIT = environment["API_RATE_LIMIT"]
            settings.REDIS_URL = environment.get("REDIS_URL", "")
            started = time.perf_counter()
            response = client.get(path)
            took = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.content
            if number >= 100:  # the first 100 warm up
                times[target].append(took)
    ratelimit._limiter.cache_clear()
    base = statistics.median(times["no limits"])
    out = [
        f"In this process ({IN_PROCESS_REQUESTS:,} requests each, interleaved, after 100 of "
        "warm-up):\n",
        "| budgets | p50 | added to the p50 |",
        "|---|---|---|",
    ]
    for target, values in times.items():
        p50 = statistics.median(values)
        out.append(f"| {target} | {p50:.3f} ms | {p50 - base:+.3f} ms |")
    out.append("")
    return out


if __name__ == "__main__":
    main()
