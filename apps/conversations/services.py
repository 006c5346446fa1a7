from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.conversations.models import Conversation, Message


def conversations_touch(conversations: QuerySet[Conversation]) -> None:
    """Recompute `last_activity_at` (the latest `sent_at` of the messages, else `start_at`)
    in one UPDATE. Every path that writes messages calls it in the same transaction."""
    # The latest message by `message_chronological`, read backwards: one index probe per
    # conversation, where MAX(...) GROUP BY reads every message of each.
    latest = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )
    conversations.update(last_activity_at=Coalesce(Subquery(latest), F("start_at")))
