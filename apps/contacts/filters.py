import django_filters
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower

from apps.contacts.models import Contact
from hyperrep import ids
from hyperrep.api.filters import FilterSet, PhoneNumberFilter


class ContactFilter(FilterSet):
    date_field = "created_at"

    email = django_filters.CharFilter(method="filter_email", label="Email, case-insensitive")
    phone_number = PhoneNumberFilter(field_name="phone_e164", label="Phone number, any format")
    company_id = django_filters.CharFilter(method="filter_company", label="Company id")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Written against Lower("email") so that the (organization, lower(email)) index serves it.
        # Both sides lowered by the database: SQLite's LOWER() folds ASCII only.
        return queryset.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(value)))

    def filter_company(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The contacts are the organization's already, and so are their companies.
        return queryset.filter(company__public_id=ids.check(value, prefix="cmp", name=name))
