from typing import Any

from rest_framework import serializers

from apps.companies.domains import normalize_domain
from hyperrep.api.serializers import (
    CustomFieldsField,
    InputSerializer,
    OutputSerializer,
    ReferenceField,
)


class DomainField(serializers.CharField):
    # OpenAPI (hyperrep/api/schema.py): a domain name, or a URL whose host is one, that has a
    # dot once it is normalized (apps/companies/domains.py).
    schema_format = "domain"
    default_error_messages = {
        "invalid_domain": "Enter a domain name such as example.com.",
    }

    def to_internal_value(self, data: Any) -> str:
        try:
            return normalize_domain(super().to_internal_value(data))
        except ValueError:
            self.fail("invalid_domain")


class CompanySerializer(OutputSerializer):
    company_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    domain = serializers.CharField(allow_null=True)
    custom_fields = serializers.JSONField()
    address = serializers.CharField(allow_null=True)
    agent_id = serializers.CharField(source="agent_public_id", allow_null=True)
    created_at = serializers.DateTimeField()


class CompanyCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=255)
    domain = DomainField(max_length=2000, required=False, allow_null=True)
    address = serializers.CharField(
        max_length=2000, required=False, allow_null=True, allow_blank=True
    )
    custom_fields = CustomFieldsField(required=False)
    agent_id = ReferenceField()
