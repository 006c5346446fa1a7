from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.sales.models import SaleStatus
from hyperrep.api.serializers import OutputSerializer


class AssociatedContactSerializer(OutputSerializer):
    contact_id = serializers.CharField(source="contact_public_id")
    is_primary = serializers.BooleanField()


class SaleStatusSerializer(OutputSerializer):
    label = serializers.CharField()  # type: ignore[assignment]  # DRF pops declared fields
    status = serializers.ChoiceField(choices=SaleStatus.choices, allow_null=True)
    changed_at = serializers.DateTimeField()


class ProductSerializer(serializers.Serializer):
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(help_text="Two-place decimal string")
    product_name = serializers.CharField()


class QuoteOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total_price = serializers.CharField(help_text="Two-place decimal string")


class QuoteArgumentsSerializer(serializers.Serializer):
    products = ProductSerializer(many=True)


class QuoteDetailsSerializer(serializers.Serializer):
    """The documented shape of `quote_details` (stored and returned whole)."""

    output = QuoteOutputSerializer()
    arguments = QuoteArgumentsSerializer()
    agent_overrides = serializers.DictField()


@extend_schema_field(QuoteDetailsSerializer)
class QuoteDetailsField(serializers.JSONField):
    pass


class SaleSerializer(OutputSerializer):
    sale_id = serializers.CharField(source="public_id")
    associated_conversation_ids = serializers.SerializerMethodField()
    company_id = serializers.CharField(source="company_public_id", allow_null=True)
    owner_id = serializers.CharField(source="owner_public_id", allow_null=True)
    associated_contacts = AssociatedContactSerializer(source="contact_links", many=True)
    quote_details = QuoteDetailsField()
    custom_fields = serializers.JSONField()
    current_status = serializers.SerializerMethodField()
    status_history = SaleStatusSerializer(many=True)
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_associated_conversation_ids(self, sale: Any) -> list[str]:
        return [link.conversation_public_id for link in sale.conversation_links]

    @extend_schema_field(SaleStatusSerializer(allow_null=True))
    def get_current_status(self, sale: Any) -> dict[str, Any] | None:
        history = sale.status_history
        return _STATUS.to_representation(history[-1]) if history else None


_STATUS = SaleStatusSerializer()  # renders without a context: one for every sale
