"""The blocks of docs/analytics.md, with its camelCase keys."""

from rest_framework import serializers

from hyperrep.api.serializers import OutputSerializer


class ResponseRateSerializer(OutputSerializer):
    numConversationsRespondedTo = serializers.IntegerField(source="responded")
    numConversationsReceived = serializers.IntegerField(source="received")
    responseRate = serializers.FloatField(source="rate", allow_null=True)


class ResponseTimeSerializer(OutputSerializer):
    responseTime = serializers.IntegerField(source="mean", allow_null=True)
    medianResponseTime = serializers.IntegerField(source="median", allow_null=True)
    p90ResponseTime = serializers.IntegerField(source="p90", allow_null=True)


class VolumeSerializer(OutputSerializer):
    numMessagesReceived = serializers.IntegerField(source="messages_received")
    numMessagesSent = serializers.IntegerField(source="messages_sent")
    totalConversations = serializers.IntegerField(source="total_conversations")


class ModalitySerializer(OutputSerializer):
    textMessages = serializers.IntegerField(source="text")
    calls = serializers.IntegerField(source="call")
    emails = serializers.IntegerField(source="email")
    liveChats = serializers.IntegerField(source="live_chat")
    formRequests = serializers.IntegerField(source="form")


class ConversationAnalyticsSerializer(OutputSerializer):
    responseRateStats = ResponseRateSerializer(source="response_rate")
    responseTimeStats = ResponseTimeSerializer(source="response_time")
    volumeStats = VolumeSerializer(source="volume")
    modalityStats = ModalitySerializer(source="modality")
