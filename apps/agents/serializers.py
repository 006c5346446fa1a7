from rest_framework import serializers

from hyperrep.api.serializers import OutputSerializer


class AgentSerializer(OutputSerializer):
    agent_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
