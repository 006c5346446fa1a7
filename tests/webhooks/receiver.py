"""A webhook receiver on loopback, and the Standard Webhooks verification written from the
specification (independent of apps/webhooks/signing.py): what an integration would run."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secrets: list[str], headers: dict[str, str], body: bytes) -> bool:
    """Whether any `v1,` signature of the header is the HMAC-SHA256, keyed with one of the
    secrets' bytes, of `<webhook-id>.<webhook-timestamp>.<body>`."""
    signed = b".".join(
        [headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body]
    )
    expected = {
        base64.b64encode(
            hmac.new(base64.b64decode(secret.split("_", 1)[1]), signed, hashlib.sha256).digest()
        ).decode()
        for secret in secrets
    }
    given = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    return any(version == "v1" and value in expected for version, value in given)


class Receiver:
    """Answers every POST with `status` (after `delay` seconds), keeping what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.delay = 0.0
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _headers, body in self.received]
