from apps.drafts.models import ResponseDraft
from hyperrep.api.filters import FilterSet


class ResponseDraftFilter(FilterSet):
    date_field = "created_at"

    class Meta:
        model = ResponseDraft
        fields: list[str] = []
