from django.urls import re_path

from apps.analytics.views import ConversationAnalyticsViewSet

BASE = "analytics/conversations"
ROUTES = [
    ("", "combined"),
    ("/response-rate", "response_rate"),
    ("/response-time", "response_time"),
    ("/volume", "volume"),
    ("/modality", "modality"),
]
urlpatterns = [
    re_path(
        rf"^{BASE}{suffix}/?$",
        ConversationAnalyticsViewSet.as_view({"get": action}),
        name=f"analytics-conversations-{action.replace('_', '-')}",
    )
    for suffix, action in ROUTES
]
