"""Under gunicorn with two worker processes, /metrics adds up the counts of both, whichever
answers: deploy/gunicorn.conf.py gives them one PROMETHEUS_MULTIPROC_DIR (a fresh one unless
the environment names one). One worker is paused (SIGSTOP) while the other answers, so that
which process answered is known."""

import itertools
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hyperrep.outbox.worker import HANDLERS
from tests.deploy.servers import serve
from tests.helpers import free_port
from tests.metrics.conftest import samples

QUERIES = ("hyperrep_db_queries_total", frozenset({("alias", "default")}))
SCRAPES = (
    "hyperrep_http_requests_total",
    frozenset({("method", "GET"), ("route", "metrics"), ("status", "200")}),
)


@pytest.fixture(params=["fresh", "given"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[int, int, Path | None]]:
    """Two workers, never migrated: /metrics's outbox queries fail (and are counted), all
    four every time. No METRICS_TOKEN: loopback may read them."""
    directory = None
    if request.param == "given":
        directory = tmp_path / "metrics"
        directory.mkdir()
    port = free_port()
    environment = {"WEB_CONCURRENCY": "2", "METRICS_TOKEN": ""}
    environment["PROMETHEUS_MULTIPROC_DIR"] = str(directory) if directory else ""
    with serve(tmp_path, port, **environment) as running:
        yield port, running.pid, directory


def scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        return samples(answer.read().decode())


def workers_of(master: int) -> list[int]:
    """The processes whose parent is `master` (Linux's /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)"
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            children.append(int(stat.parent.name))
    return sorted(children)


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process stopped (it accepts nothing: the other worker answers every request)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_metrics_add_up_across_the_workers(server: tuple[int, int, Path | None]) -> None:
    port, master, directory = server
    deadline = time.monotonic() + 30
    while len(workers := workers_of(master)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2, workers
    first, second = workers
    with paused(second):
        seen = [scrape(port)[QUERIES] for _ in range(4)]  # all answered by the first
    # Each scrape counts its outbox queries (one a table) after it reads the totals.
    steps = {later - earlier for earlier, later in itertools.pairwise(seen)}
    assert steps == {len(HANDLERS)}
    with paused(first):
        other = scrape(port)  # answered by the second, which answered none of the four
    assert other[QUERIES] == seen[-1] + len(HANDLERS)
    if SCRAPES in other:  # the request middleware observes requests
        assert other[SCRAPES] >= 4
    if directory is not None:  # the environment's directory holds both workers' counts
        pids = {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("counter_*.db")}
        assert pids == {first, second}
