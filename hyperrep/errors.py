"""Domain errors: what services, selectors and id lookups raise when a request cannot be
carried out. They know nothing of HTTP. The API's one exception handler
(hyperrep/api/exceptions.py) maps each class to the status the contract gives it, with its
message as `detail`; a management command or the worker gets the same exception and the same
message.
"""


class DomainError(Exception):
    """An error its caller can act on. `detail` is the sentence shown to them."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidValue(DomainError):
    """A supplied value cannot be right: an id no row could have, an id of another
    organization in a body, a business rule (`autosend_draft and add_notification cannot
    both be true`)."""


class NotFound(DomainError):
    """No such row within the organization (`Contact not found`)."""


class Conflict(DomainError):
    """The request collides with the state of a row or of another request."""


class ValidationFailed(DomainError):
    """A value of the wrong shape (an unknown parameter, a phone number that cannot be one).
    `field` names the value when the caller gave it one; `message` is the reason alone."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field
