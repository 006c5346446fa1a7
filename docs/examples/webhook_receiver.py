"""A webhook receiver to try HyperRep's webhooks with: it prints each event it is sent and
whether its signature verifies (Standard Webhooks), and answers 204 (or --status).

    python3 docs/examples/webhook_receiver.py 9000 whsec_... [--status 500]

Standard library only. For development: it listens on 127.0.0.1."""

import argparse
import base64
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(value, expected)
        for version, _, value in (s.partition(",") for s in headers["webhook-signature"].split())
        if version == "v1"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("secret", help="the endpoint's whsec_… secret")
    parser.add_argument("--status", type=int, default=204, help="what to answer (204)")
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            good = "webhook-signature" in headers and verify(args.secret, headers, body)
            event = json.loads(body or b"{}")
            print(f"{event.get('type')} {event.get('id')} signature {'ok' if good else 'BAD'}")
            print(json.dumps(event.get("data"), indent=2))
            self.send_response(args.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    print(f"listening on http://127.0.0.1:{args.port}/ (answering {args.status})")
    HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
