"""`console://`, for development: the message is written to the log and counts as delivered."""

import logging

from django.core.mail import EmailMultiAlternatives

from apps.delivery.transports.base import Text

log = logging.getLogger("hyperrep.delivery.console")


class ConsoleTransport:
    def close(self) -> None:
        pass

    def send_email(self, message: EmailMultiAlternatives) -> str | None:
        log.info("email (console transport):\n%s", message.message().as_string())
        return None

    def send_text(self, text: Text) -> str | None:
        log.info("text (console transport) from %s to %s:\n%s", text.sender, text.to, text.body)
        return None
