from apps.sales.models import Sale
from hyperrep.api.filters import FilterSet


class SaleFilter(FilterSet):
    date_field = "created_at"

    class Meta:
        model = Sale
        fields: list[str] = []
