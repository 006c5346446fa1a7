from rest_framework import serializers


class OrganizationSerializer(serializers.Serializer):
    organization_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
