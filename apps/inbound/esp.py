"""Inbound email from an ESP's webhook (`POST /inbound/email/<token>/<esp>`), through
django-anymail's inbound view for that ESP: it checks the request as the ESP signs it and
parses the message out of the ESP's format. Its settings are the channel's: the options of
its `anymail+<esp>://` transport (the ESP's key, and `webhook_signing_key`,
`webhook_secret` for basic auth, `inbound_secret` … as anymail names them). The inbound
token in the URL is a secret of its own, so an ESP whose only check is basic auth works
without one.
"""

import importlib
import logging
import warnings
from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from apps.delivery import transports
from apps.inbound.events import Unparseable
from apps.organizations.models import Channel
from hyperrep.errors import ValidationFailed

log = logging.getLogger("hyperrep.inbound")

# anymail's inbound view of each ESP it can receive from.
VIEWS = {
    "brevo": "brevo.BrevoInboundWebhookView",
    "mailersend": "mailersend.MailerSendInboundWebhookView",
    "mailgun": "mailgun.MailgunInboundWebhookView",
    "mailjet": "mailjet.MailjetInboundWebhookView",
    "mailtrap": "mailtrap.MailtrapInboundWebhookView",
    "postal": "postal.PostalInboundWebhookView",
    "postmark": "postmark.PostmarkInboundWebhookView",
    "resend": "resend.ResendInboundWebhookView",
    "sendgrid": "sendgrid.SendGridInboundWebhookView",
    "sparkpost": "sparkpost.SparkPostInboundWebhookView",
}


class InvalidSignature(Exception):
    pass


class Webhook:
    def __init__(self, view: Any) -> None:
        self.view = view

    def messages(self, request: HttpRequest) -> list[bytes]:
        """The raw MIME of each message the request carries. InvalidSignature when the ESP's
        check fails; Unparseable when it carries no message anymail can read."""
        try:
            self.view.run_validators(request)
        except AnymailWebhookValidationFailure as failure:
            log.info("inbound %s webhook refused: %s", self.view.esp_name, failure)
            raise InvalidSignature from None
        try:
            events = self.view.parse_events(request)
        except Exception as error:  # anymail's parsers raise whatever the payload's shape makes
            raise Unparseable(f"not a {self.view.esp_name} inbound webhook: {error}") from None
        raws = [event.message.as_bytes() for event in events if event.message is not None]
        if not raws:
            raise Unparseable(f"the {self.view.esp_name} webhook carries no message")
        return raws


def webhook(esp: str, channel: Channel) -> Webhook | None:
    """The ESP's inbound view with the channel's settings; None when this server cannot
    receive from that ESP or the channel's transport does not configure it."""
    if esp not in VIEWS:
        return None
    options: dict[str, Any] = {}
    try:
        url = channel.transport_url()
        if url.lower().startswith(f"anymail+{esp}://"):
            options = transports.parse(url, kind="email").options
    except (InvalidToken, ValidationFailed):
        log.error("channel %s: its transport cannot be read for %s's webhook", channel.pk, esp)
        return None
    options.pop("requests_timeout", None)
    module, name = VIEWS[esp].split(".")
    view_class = getattr(importlib.import_module(f"anymail.webhooks.{module}"), name)
    try:
        with warnings.catch_warnings():  # no basic auth: the token in the URL is the secret
            warnings.simplefilter("ignore")
            return Webhook(view_class(**options))
    except (ImproperlyConfigured, AnymailError) as missing:
        log.warning("channel %s cannot take %s's inbound webhook: %s", channel.pk, esp, missing)
        return None
