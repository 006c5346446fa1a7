from rest_framework import serializers

from hyperrep.api.serializers import OutputSerializer


class OrganizationSerializer(OutputSerializer):
    organization_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
