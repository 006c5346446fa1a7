"""Standard Webhooks signatures: `webhook-signature` is `v1,<base64 HMAC-SHA256>` of
`<webhook-id>.<webhook-timestamp>.<body>`, keyed with the secret's bytes (the base64 after
`whsec_`), one such value per live secret, separated by spaces."""

import base64
import hashlib
import hmac
from collections.abc import Sequence


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets
        ),
    }
