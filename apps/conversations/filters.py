import django_filters

from apps.conversations.models import Conversation, Message
from hyperrep.api.filters import BooleanFilter, FilterSet


class ConversationWindow(FilterSet):
    """Dates on `start_at`: the filters of every list of conversations."""

    date_field = "start_at"

    class Meta:
        model = Conversation
        fields: list[str] = []


class ConversationFilter(ConversationWindow):
    folder = django_filters.CharFilter(field_name="folder", label="Folder slug")
    is_read = BooleanFilter(field_name="is_read")

    class Meta(ConversationWindow.Meta):
        pass


class MessageFilter(FilterSet):
    date_field = "sent_at"

    class Meta:
        model = Message
        fields: list[str] = []
