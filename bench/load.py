"""A closed-loop load generator: N clients, each sending its next request when the last one
has answered, until a time or request budget runs out. Loopback only.

    python -m bench.load http://127.0.0.1:8000/path -H 'X-API-KEY: ...' -c 8 -d 10

Each request is a new connection with `Connection: close`, as gunicorn's sync workers close
the connection after each response anyway; the client sends prebuilt bytes and reads to EOF,
so that it costs little CPU (http.client's header parsing cost about 0.5 ms a request, a
quarter of a core at 8 clients on this machine). A client spends its time waiting on the
socket, with the GIL released, so threads are enough. The report states the client's CPU.
"""

import argparse
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


def rank(values: list[float], p: float) -> float:
    """The nearest-rank percentile of the values; infinities stay infinite."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass(frozen=True)
class LoadResult:
    clients: int
    requests: int
    errors: int
    seconds: float
    client_cpu_seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return rank(self.latencies_ms, p) if self.latencies_ms else float("nan")

    @classmethod
    def merge(cls, results: list["LoadResult"]) -> "LoadResult":
        """Several runs of the same load as one."""
        return cls(
            clients=results[0].clients,
            requests=sum(r.requests for r in results),
            errors=sum(r.errors for r in results),
            seconds=sum(r.seconds for r in results),
            client_cpu_seconds=sum(r.client_cpu_seconds for r in results),
            latencies_ms=[ms for r in results for ms in r.latencies_ms],
        )

    def summary(self) -> str:
        return (
            f"{self.clients} client(s): {self.rps:.0f} req/s, p50 {self.percentile(50):.2f} ms, "
            f"p99 {self.percentile(99):.2f} ms ({self.requests} requests, {self.errors} errors)"
        )


def run(
    url: str,
    *,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    max_requests: int = 200_000,
) -> LoadResult:
    """GET `url` in a closed loop."""
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1" or parts.port is None:
        raise ValueError("load goes to 127.0.0.1:<port> only")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = "".join(
        [
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\n",
            *(f"{name}: {value}\r\n" for name, value in headers.items()),
            "Connection: close\r\n\r\n",
        ]
    ).encode()
    return closed_loop(
        parts.port,
        lambda number: request if number < max_requests else None,
        clients=clients,
        seconds=seconds,
        ok=b"HTTP/1.1 200 ",
    )


def closed_loop(
    port: int,
    request: Callable[[int], bytes | None],
    *,
    clients: int,
    seconds: float,
    ok: bytes = b"HTTP/1.1 2",
) -> LoadResult:
    """`clients` clients, each sending the next request (`request(n)` for the n-th of them
    all; None: there are no more) on a new connection to 127.0.0.1:`port` when its last one
    has answered, until `seconds` pass. An answer that does not start with `ok` is an error."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    numbers = itertools.count()  # next() on it is atomic under the GIL
    start = threading.Barrier(clients + 1, timeout=30)
    deadline = 0.0

    def client(index: int) -> None:
        mine = latencies[index]
        start.wait()
        while time.perf_counter() < deadline:
            body = request(next(numbers))
            if body is None:
                return
            began = time.perf_counter()
            try:
                answer = exchange(port, body)
            except OSError:
                errors[index] += 1
                return  # the server is gone or stuck: this client stops, the report says so
            mine.append((time.perf_counter() - began) * 1000)
            if not answer.startswith(ok):
                errors[index] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - began
    return LoadResult(
        clients=clients,
        requests=sum(len(mine) for mine in latencies),
        errors=sum(errors),
        seconds=elapsed,
        client_cpu_seconds=time.process_time() - cpu,
        latencies_ms=[ms for mine in latencies for ms in mine],
    )


def exchange(port: int, request: bytes) -> bytes:
    """Send the request on a new connection to 127.0.0.1:`port` and read the answer to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = [connection.recv(65536)]
        while received[-1]:
            received.append(connection.recv(65536))
    return b"".join(received)


def main() -> None:
    parser = argparse.ArgumentParser(description="Closed-loop HTTP GET load on 127.0.0.1.")
    parser.add_argument("url")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("-c", "--clients", type=int, default=1)
    parser.add_argument("-d", "--seconds", type=float, default=10.0)
    parser.add_argument("-n", "--max-requests", type=int, default=200_000)
    args = parser.parse_args()
    headers = dict(
        (name.strip(), value.strip())
        for name, _, value in (item.partition(":") for item in args.header)
    )
    result = run(
        args.url,
        headers=headers,
        clients=args.clients,
        seconds=args.seconds,
        max_requests=args.max_requests,
    )
    print(result.summary())


if __name__ == "__main__":
    main()
