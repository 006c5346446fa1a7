"""What counting costs (docs/metrics.md, "Cost"): a query with and without the query counter,
and a request's route label and metrics. Not a test (timings on a shared machine vary): run

    SECRET_KEY=… DATABASE_URL=sqlite:////tmp/x.sqlite3 .venv/bin/python -m tests.metrics.overhead

and again with PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) for gunicorn's multiprocess mode."""

import os
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperrep.settings")
django.setup()

from django.db import connection  # noqa: E402  # (after setup)
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402

from hyperrep import metrics  # noqa: E402

QUERIES = 50_000
REQUESTS = 50_000
REPEAT = 15


def best(run: Callable[[int], float], times: int) -> float:
    """The fastest of REPEAT runs, in seconds per operation."""
    return min(run(times) for _ in range(REPEAT))


def queries(times: int) -> float:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for _ in range(times):
            cursor.execute("SELECT 1")
        return (time.perf_counter() - started) / times


def requests(times: int) -> float:
    request = RequestFactory().get("/api/v2/organizations/org_x/contacts/ctc_y")
    request.resolver_match = resolve(request.path)
    started = time.perf_counter()
    for _ in range(times):
        metrics.observe_request(request.method or "GET", metrics.route_of(request), 200, 0.0123)
    return (time.perf_counter() - started) / times


def counted_and_not() -> tuple[float, float]:
    """The fastest query with the counter and without it, the runs taking turns (so that a
    busy moment of the machine slows both alike)."""
    wrappers = list(connection.execute_wrappers)
    counted, uncounted = [], []
    try:
        for _ in range(REPEAT):
            connection.execute_wrappers[:] = wrappers
            counted.append(queries(QUERIES))
            connection.execute_wrappers.clear()
            uncounted.append(queries(QUERIES))
    finally:
        connection.execute_wrappers[:] = wrappers
    return min(counted), min(uncounted)


def main() -> None:
    connection.ensure_connection()
    counted, uncounted = counted_and_not()
    mode = "multiprocess" if metrics.MULTIPROCESS else "one process"
    print(f"{mode}, {connection.vendor}")
    print(
        f"a query: {uncounted * 1e6:.2f} µs uncounted, {counted * 1e6:.2f} µs counted: "
        f"{(counted - uncounted) * 1e6:+.2f} µs"
    )
    print(f"a request's route label and metrics: {best(requests, REQUESTS) * 1e6:.2f} µs")


if __name__ == "__main__":
    main()
