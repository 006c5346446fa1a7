from rest_framework import serializers

from apps.conversations.models import Direction, Modality
from hyperrep.api.serializers import OutputSerializer


class ConversationSerializer(OutputSerializer):
    conversation_id = serializers.CharField(source="public_id")
    start_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    folder = serializers.CharField()
    is_read = serializers.BooleanField()
    contact_id = serializers.CharField(source="contact_public_id")
    agent_id = serializers.CharField(source="agent_public_id", allow_null=True)


class EmailMetadataSerializer(OutputSerializer):
    email_message_id = serializers.CharField(allow_null=True)
    cc_emails = serializers.ListField(child=serializers.CharField())
    bcc_emails = serializers.ListField(child=serializers.CharField())


class CallMetadataSerializer(OutputSerializer):
    duration = serializers.IntegerField(source="call_duration", allow_null=True)


class TrackedLinkSerializer(OutputSerializer):
    link_id = serializers.CharField(source="public_id")
    url = serializers.CharField()
    click_count = serializers.IntegerField()


class MessageSerializer(OutputSerializer):
    message_id = serializers.CharField(source="public_id")
    conversation_id = serializers.CharField(source="conversation_public_id")
    agent_id = serializers.CharField(source="agent_public_id", allow_null=True)
    modality = serializers.ChoiceField(choices=Modality.choices)
    message_direction = serializers.ChoiceField(source="direction", choices=Direction.choices)
    is_form_request = serializers.BooleanField()
    subject = serializers.CharField(allow_null=True)
    content = serializers.CharField(allow_null=True)
    call_transcript = serializers.CharField(allow_null=True)
    form_request_body = serializers.JSONField(allow_null=True)
    sent_at = serializers.DateTimeField()
    drafted_at = serializers.DateTimeField(allow_null=True)
    email_metadata = EmailMetadataSerializer(source="*")
    call_metadata = CallMetadataSerializer(source="*")
    tracked_links = TrackedLinkSerializer(many=True, source="links")  # message_list's prefetch
