import re
from typing import Any

from rest_framework import serializers

from hyperrep.api.serializers import (
    CustomFieldsField,
    InputSerializer,
    OutputSerializer,
    ReferenceField,
)

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalize_domain(raw: str) -> str:
    """`https://WWW.Acme.com:8443/about?x#y` -> `www.acme.com`; ValueError if that is not a
    domain name with a dot."""
    value = raw.strip().lower()
    value = value.split("://", 1)[1] if "://" in value else value.removeprefix("//")
    value = re.split(r"[/?#]", value, maxsplit=1)[0]
    value = value.rsplit("@", 1)[-1]  # user:password@
    value = value.split(":", 1)[0]  # port
    value = value.rstrip(".")  # the root label of a fully qualified name
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(value) from None
    labels = value.split(".")
    if len(labels) < 2 or len(value) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ValueError(value)
    return value


class DomainField(serializers.CharField):
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
