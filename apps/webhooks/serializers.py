from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.webhooks.models import EVENT_TYPES, EVERY_EVENT
from hyperrep.api.serializers import InputSerializer, OutputSerializer


class EndpointSerializer(OutputSerializer):
    endpoint_id = serializers.CharField(source="public_id")
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_null=True)
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DeliverySerializer(OutputSerializer):
    delivery_id = serializers.CharField(source="public_id")
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_field(
    {
        "anyOf": [
            {"type": "array", "minItems": 1, "items": {"type": "string", "enum": choices}}
            for choices in (list(EVENT_TYPES), [EVERY_EVENT])
        ],
        "description": 'A non-empty list of event types, or `["*"]` for every one.',
    }
)
class EventsField(serializers.ListField):
    """A non-empty list of event types, or `["*"]` for every one."""

    child = serializers.ChoiceField(choices=[*EVENT_TYPES, EVERY_EVENT])

    def to_internal_value(self, data: Any) -> list[str]:
        events = list(dict.fromkeys(super().to_internal_value(data)))
        if not events:
            raise serializers.ValidationError('Name at least one event type, or "*".')
        if EVERY_EVENT in events and len(events) > 1:
            raise serializers.ValidationError('"*" stands alone: it is every event type.')
        return events


class EndpointCreateSerializer(InputSerializer):
    url = serializers.CharField(max_length=2000)
    events = EventsField()
    description = serializers.CharField(max_length=2000, required=False, allow_null=True)


class NoBody(InputSerializer):
    pass


class EndpointUpdateSerializer(InputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = EventsField(required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False)
