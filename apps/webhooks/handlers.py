"""Sending deliveries: the outbox handler of `Delivery` (hyperrep/outbox).

A batch's POSTs go out together (SENDERS at a time, outside any transaction). Each resolves
the endpoint's host and checks every address against the SSRF policy (addresses.py) at send
time, then POSTs the body to the checked address (the TLS name and
`Host` stay the URL's), signed with every live secret, with a 10 s budget and no redirects.
A 2xx succeeds; anything else is retried on the schedule of RETRY_DELAYS, then the
delivery is `failed`. An endpoint whose attempts have all failed for FAILING_DAYS is
disabled (a log line and the admin show it)."""

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from django.utils import timezone

from apps.webhooks import addresses, signing
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from hyperrep import metrics
from hyperrep.outbox.claims import Permanent, Transient

log = logging.getLogger("hyperrep.webhooks")
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
FAILING_DAYS = 5
TIMEOUT = urllib3.Timeout(total=10.0, connect=5.0)
READ_AT_MOST = 64 * 1024  # of an answer's body: only its status matters
SENDERS = 8  # POSTs of a batch in flight at once


class WebhookDelivery:
    model = Delivery
    fields = ("status",)

    def retry_delays(self) -> Sequence[timedelta]:
        return RETRY_DELAYS

    def batch(self, keys: Sequence[int]) -> "DeliveryBatch":
        return DeliveryBatch(keys)

    def succeeded(self, done: Sequence[tuple[Any, Any]]) -> None:
        for delivery, _status_code in done:
            delivery.status = DeliveryStatus.SUCCEEDED
        endpoints = {delivery.endpoint_id for delivery, _ in done}
        Endpoint.objects.unscoped().filter(pk__in=sorted(endpoints)).exclude(
            failing_since=None
        ).update(failing_since=None)

    def gave_up(self, failed: Sequence[tuple[Any, str]]) -> None:
        for delivery, _reason in failed:
            delivery.status = DeliveryStatus.FAILED

    def count_attempt(self, delivery: Any, outcome: str) -> None:
        metrics.count_webhook_attempt(outcome)


class DeliveryBatch:
    """The deliveries of one claim. Their POSTs go out at once, SENDERS at a time, when the
    batch opens (outside any transaction), so that a receiver that answers slowly delays
    none of the others; each attempt then records what its POST got."""

    def __init__(self, keys: Sequence[int]) -> None:
        self.items = list(
            Delivery.objects.unscoped()  # the claim's deliveries, of any organization
            .filter(pk__in=keys)
            .select_related("endpoint")
            .order_by("next_attempt_at", "pk")
        )
        # A batch's deliveries to one checked address share its connections (kept alive).
        self.pools: dict[addresses.Target, urllib3.HTTPConnectionPool] = {}
        self.pools_lock = threading.Lock()
        self.answers: dict[int, int | Exception] = {}

    def __enter__(self) -> "DeliveryBatch":
        secrets: dict[int, list[str]] = {}
        sends: list[tuple[int, str, bytes, dict[str, str]]] = []
        for delivery in self.items:
            endpoint = delivery.endpoint
            if not endpoint.enabled:
                continue
            if endpoint.pk not in secrets:
                secrets[endpoint.pk] = endpoint.live_secrets()
            body = delivery.body.encode()
            headers = signing.headers(
                secrets[endpoint.pk], delivery.event_id, int(time.time()), body
            )
            sends.append((delivery.pk, endpoint.url, body, headers))
        if sends:
            with ThreadPoolExecutor(max_workers=SENDERS) as senders:
                futures = {
                    key: senders.submit(self.post, url, body, headers)
                    for key, url, body, headers in sends
                }
            for key, future in futures.items():
                error = future.exception()
                self.answers[key] = error if isinstance(error, Exception) else future.result()
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in self.pools.values():
            pool.close()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return post(url, body, headers, self.pools, self.pools_lock)

    def attempt(self, delivery: Delivery) -> int:
        answer = self.answers.get(delivery.pk)
        if answer is None:
            raise Permanent("the endpoint is disabled")
        if isinstance(answer, addresses.Refused | urllib3.exceptions.HTTPError | OSError):
            self.failing(delivery, None)
            raise Transient(_reason(answer))
        if isinstance(answer, Exception):
            raise answer
        if not 200 <= answer < 300:
            self.failing(delivery, answer)
            raise Transient(f"HTTP {answer}")
        Delivery.objects.unscoped().filter(pk=delivery.pk).update(last_status_code=answer)
        return answer

    def failing(self, delivery: Delivery, status: int | None) -> None:
        """Note the attempt's status code, and disable an endpoint failing for too long."""
        now = timezone.now()
        Delivery.objects.unscoped().filter(pk=delivery.pk).update(last_status_code=status)
        endpoints = Endpoint.objects.unscoped().filter(pk=delivery.endpoint_id)
        endpoints.filter(failing_since=None).update(failing_since=now)
        if endpoints.filter(
            enabled=True, failing_since__lte=now - timedelta(days=FAILING_DAYS)
        ).update(enabled=False, updated_at=now):
            log.warning(
                "webhook endpoint %s disabled: every attempt failed for %s days",
                delivery.endpoint.public_id,
                FAILING_DAYS,
            )


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    pools: dict[addresses.Target, urllib3.HTTPConnectionPool],
    lock: threading.Lock,
) -> int:
    """POST to the URL's host at an address the SSRF policy allows (resolved and checked
    now, whatever connection is open); the answer's status."""
    target = addresses.resolve(url)
    parts = urlsplit(url)
    default = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default else f"{target.host}:{target.port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with lock:
        pool = pools.get(target)
        if pool is None:
            pool = pools[target] = _pool(target)
    response = pool.urlopen(
        "POST",
        path,
        body=body,
        headers={
            **headers,
            "Host": host,
            "Content-Type": "application/json",
            "User-Agent": "HyperRep-Webhooks/1",
        },
        redirect=False,
        preload_content=False,
    )
    response.read(READ_AT_MOST)
    if response.length_remaining:  # a longer answer than we read: its connection is done
        response.close()
    response.release_conn()
    return int(response.status)


def _pool(target: addresses.Target) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            timeout=TIMEOUT,
            retries=False,
            maxsize=SENDERS,
        )
    return urllib3.HTTPConnectionPool(
        target.address, target.port, timeout=TIMEOUT, retries=False, maxsize=SENDERS
    )


def _reason(error: Exception) -> str:
    if isinstance(error, addresses.Refused):
        return f"refused: {error}"
    if isinstance(error, urllib3.exceptions.NewConnectionError):  # (a ConnectTimeoutError too)
        return f"connection failed: {error.__cause__ or error}"[:500]
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return "timed out (10 s)"
    return f"{type(error).__name__}: {error}"[:500]
