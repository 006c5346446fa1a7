"""The filter-set base of every list (django-filter), with the API's date window."""

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request
from rest_framework.views import APIView

from hyperrep.api.dates import BAD_FORMAT, check_window, parse_instant
from hyperrep.api.exceptions import InvalidValue


class InstantField(forms.Field):
    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        try:
            return parse_instant(str(value).strip())
        except ValueError:
            raise forms.ValidationError(BAD_FORMAT) from None


class InstantFilter(django_filters.Filter):
    field_class = InstantField


class FilterSet(django_filters.FilterSet):
    """The base of every list's filters: `start_date`/`end_date` bound the column named by
    `date_field`, and no filter value may carry a NUL character (PostgreSQL cannot compare
    text with one; it would be a database error, not an empty page)."""

    date_field = "created_at"

    start_date = InstantFilter(lookup_expr="gte", label="Inclusive lower bound (ISO 8601)")
    end_date = InstantFilter(lookup_expr="lt", label="Exclusive upper bound (ISO 8601)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["start_date"].field_name = self.date_field
        self.filters["end_date"].field_name = self.date_field

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if any("\x00" in value for value in self.data.values()):
            raise InvalidValue("NUL characters are not allowed")
        check_window(
            self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
        )
        return super().filter_queryset(queryset)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the filter set of a request that filters nothing: most
    list calls name no filter, and building a filter set (a form and a deep copy of every
    filter) costs about a third of a millisecond."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(
            filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
