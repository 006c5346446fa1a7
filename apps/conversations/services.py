from django.db.models import F, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.conversations.models import Conversation, Message


def conversations_touch(conversations: QuerySet[Conversation]) -> None:
    """Recompute `last_activity_at` (the latest `sent_at` of the messages, else `start_at`)
    in one UPDATE. Every path that writes messages calls it in the same transaction."""
    latest = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(latest=Max("sent_at"))
        .values("latest")
    )
    conversations.update(last_activity_at=Coalesce(Subquery(latest), F("start_at")))
