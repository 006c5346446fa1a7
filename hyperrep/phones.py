"""Phone numbers as the server compares them: in E.164, with national numbers read in
DEFAULT_PHONE_REGION (libphonenumber, through the phonenumbers package). A contact's number
is kept and rendered as it was given; every lookup by number (the contacts filter, a draft or
an inbound text finding its contact) compares the E.164 forms, so `+1 (555) 010-9999`,
`555-010-9999` and `+15550109999` are one number."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

INVALID = "Enter a valid phone number."


def to_e164(raw: str | None) -> str | None:
    """The number in E.164, or None when the text cannot be a phone number (not even a
    *possible* one: `555-010-9999` is possible, though unassigned)."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone_number(value: str | None) -> None:
    """The model's validator (the admin runs it; the API's field applies the same rule)."""
    if value and to_e164(value) is None:
        raise ValidationError(INVALID)
