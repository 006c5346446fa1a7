from typing import Any, ClassVar

from rest_framework import serializers

from hyperrep.api.serializers import (
    CustomFieldsField,
    InputSerializer,
    OutputSerializer,
    PhoneNumberField,
    ReferenceField,
)


class ContactSerializer(OutputSerializer):
    contact_id = serializers.CharField(source="public_id")
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    phone_number = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    company_id = serializers.CharField(source="company_public_id", allow_null=True)
    custom_fields = serializers.JSONField()
    company_role = serializers.CharField(allow_null=True)


class ContactCreateSerializer(InputSerializer):
    # validate()'s rule, for the OpenAPI schema (hyperrep/api/schema.py).
    schema_rules: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"properties": {name: {"type": "string"}}, "required": [name]}
            for name in ("name", "email", "phone_number")
        ]
    }

    name = serializers.CharField(max_length=255, required=False, allow_null=True)
    email = serializers.EmailField(max_length=254, required=False, allow_null=True)
    phone_number = PhoneNumberField()
    company_id = ReferenceField()
    company_role = serializers.CharField(max_length=255, required=False, allow_null=True)
    custom_fields = CustomFieldsField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(attrs.get(field) for field in ("name", "email", "phone_number")):
            raise serializers.ValidationError(
                "At least one of name, email and phone_number is required."
            )
        return attrs
