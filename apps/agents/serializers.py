from rest_framework import serializers


class AgentSerializer(serializers.Serializer):
    agent_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
