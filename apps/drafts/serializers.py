from typing import Any, ClassVar

from rest_framework import serializers

from apps.drafts.models import DraftModality, DraftStatus
from apps.drafts.services import folder_slug
from hyperrep.api.schema import NOT_BLANK, ONE_LINE, ONE_LINE_TRIMMED
from hyperrep.api.serializers import InputSerializer, OutputSerializer, PhoneNumberField

MAX_COPIED = 50
AUTOSEND = "Schedule the draft for delivery now instead of leaving it pending for review."
NOTIFICATION = "Ask for a notification about the draft; not together with autosend_draft."


def email_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.EmailField(max_length=254),
        max_length=MAX_COPIED,
        required=False,
        allow_null=True,  # null is no one, as an absent list is
    )


def flag(help_text: str | None = None) -> serializers.BooleanField:
    return serializers.BooleanField(required=False, default=False, help_text=help_text)


def body_text() -> serializers.CharField:
    # Kept exactly as sent (no trimming): it is what the recipient reads.
    return serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )


def is_blank(value: str | None) -> bool:
    return value is None or not value.strip()


class UntrimmedTextField(serializers.CharField):
    """Text kept exactly as sent that must not be blank all the same (its serializer refuses
    blank text); the OpenAPI schema says so with a pattern (hyperrep/api/schema.py)."""

    schema_not_blank = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)


def not_blank(name: str) -> dict[str, Any]:
    return {"properties": {name: {"type": "string", "pattern": NOT_BLANK}}, "required": [name]}


# -- message drafts ------------------------------------------------------------------------


class MessageDraftCreateSerializer(InputSerializer):
    # The rules of validate() and of the service, for the OpenAPI schema: an email names its
    # recipient's address and a text their number, subject or body_html has some text, and
    # the ones that become email headers are one line. (A pattern, not an enum, for the
    # modality: the generator would merge the two enums into one component.)
    schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            {
                "properties": {
                    "subject": {"pattern": ONE_LINE},
                    "to_user_name": {"pattern": ONE_LINE_TRIMMED},
                }
            }
        ],
        "oneOf": [
            {
                "properties": {
                    "modality": {"type": "string", "pattern": f"^{modality}$"},
                    **not_blank(recipient)["properties"],
                },
                "required": ["modality", recipient],
            }
            for modality, recipient in (
                (DraftModality.EMAIL.value, "to_email"),
                (DraftModality.TEXT.value, "to_phone_number"),
            )
        ],
        "anyOf": [not_blank("subject"), not_blank("body_html")],
    }

    modality = serializers.ChoiceField(choices=DraftModality.choices)
    subject = body_text()
    body_html = body_text()
    to_user_name = serializers.CharField(
        max_length=255, required=False, allow_null=True, allow_blank=True
    )
    to_email = serializers.EmailField(
        max_length=254, required=False, allow_null=True, allow_blank=True
    )
    to_phone_number = PhoneNumberField(allow_blank=True)  # the draft may create a contact
    cc_emails = email_list()
    bcc_emails = email_list()
    autosend_draft = flag(AUTOSEND)
    add_notification = flag(NOTIFICATION)
    folder = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        help_text="Folder display name (default `Inbox`); the conversation files it as its "
        "slug, `Sales Follow-up` -> `sales-follow-up`.",
    )

    def validate_folder(self, value: str | None) -> str:
        if value is None:
            return "Inbox"
        if not folder_slug(value):
            raise serializers.ValidationError("Must contain at least one letter or digit.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("to_user_name", "to_email", "to_phone_number"):
            attrs[name] = attrs.get(name) or None  # "" is as good as absent
        for name in ("cc_emails", "bcc_emails"):
            attrs[name] = attrs.get(name) or []
        attrs.setdefault("folder", "Inbox")
        errors = {}
        if is_blank(attrs.get("subject")) and is_blank(attrs.get("body_html")):
            errors["non_field_errors"] = "At least one of subject and body_html must not be blank."
        recipient = "to_email" if attrs["modality"] == DraftModality.EMAIL else "to_phone_number"
        if attrs[recipient] is None:
            errors[recipient] = "This field is required."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class MessageDraftSerializer(OutputSerializer):
    draft_id = serializers.CharField(source="public_id")
    scheduled_to_send = serializers.BooleanField()
    scheduled_send_at = serializers.DateTimeField(allow_null=True)
    folder = serializers.CharField(source="conversation_folder", help_text="Folder slug")


class LegacyMessageDraftSerializer(OutputSerializer):
    """The same draft, as the older `messages-drafts` spelling renders it."""

    draft_id = serializers.CharField(source="public_id")
    queued_to_send = serializers.BooleanField(source="scheduled_to_send")
    send_at = serializers.DateTimeField(source="scheduled_send_at", allow_null=True)
    folder = serializers.CharField(source="conversation_folder", help_text="Folder slug")


# -- response drafts -----------------------------------------------------------------------


class ResponseDraftCreateSerializer(InputSerializer):
    body_html = UntrimmedTextField()
    cc_emails = email_list()
    bcc_emails = email_list()
    autosend_draft = flag(AUTOSEND)
    add_notification = flag(NOTIFICATION)

    def validate_body_html(self, value: str) -> str:
        if is_blank(value):
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("cc_emails", "bcc_emails"):
            attrs[name] = attrs.get(name) or []
        return attrs


class ResponseDraftCreatedSerializer(OutputSerializer):
    response_id = serializers.CharField(source="public_id")
    conversation_id = serializers.CharField(source="conversation_public_id")
    scheduled_to_send = serializers.BooleanField()
    scheduled_send_at = serializers.DateTimeField(allow_null=True)


class ResponseDraftSerializer(OutputSerializer):
    response_id = serializers.CharField(source="public_id")
    conversation_id = serializers.CharField(source="conversation_public_id")
    modality = serializers.ChoiceField(
        choices=DraftModality.choices,
        help_text="The channel the reply goes out on, fixed when it was drafted: that of the "
        "conversation's latest email or text message, else email when the contact has an "
        "address, else text.",
    )
    body_html = serializers.CharField(allow_null=True)
    cc_emails = serializers.ListField(child=serializers.CharField())
    bcc_emails = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=DraftStatus.choices)
    scheduled_to_send = serializers.BooleanField()
    scheduled_send_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    attempts = serializers.IntegerField(help_text="Delivery attempts so far.")
    failure_reason = serializers.CharField(
        allow_null=True, help_text="Why a failed draft could not be delivered."
    )
