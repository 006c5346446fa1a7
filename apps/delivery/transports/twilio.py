"""`twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com`: Twilio's Messages API (another host
speaks the same API: a regional edge, a Twilio-compatible provider). `twilio+http://` is
plain HTTP, for a local test double on loopback only."""

from typing import Any

import requests

from apps.delivery.transports.base import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    Permanent,
    Text,
    Transient,
)


class TwilioTransport:
    """One HTTP session (its connections kept alive) for the texts of a batch."""

    def __init__(self, *, base_url: str, account_sid: str, auth_token: str) -> None:
        self.url = f"{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.session = requests.Session()
        self.session.auth = (account_sid, auth_token)

    def close(self) -> None:
        self.session.close()

    def send_text(self, text: Text) -> str | None:
        fields = {"From": text.sender, "To": text.to, "Body": text.body}
        if text.status_callback:
            fields["StatusCallback"] = text.status_callback
        try:
            response = self.session.post(
                self.url,
                data=fields,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise Transient(f"Twilio: {type(error).__name__}: {error}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Transient(f"Twilio HTTP {response.status_code}: {_reason(response)}")
        if response.status_code not in (200, 201):
            raise Permanent(f"Twilio HTTP {response.status_code}: {_reason(response)}")
        sid = _json(response).get("sid")  # accepted either way: never sent twice for want of it
        return sid if isinstance(sid, str) else None


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(response: requests.Response) -> str:
    return str(_json(response).get("message") or response.text[:200])
