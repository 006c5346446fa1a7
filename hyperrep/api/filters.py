"""The filter-set base of every list (django-filter), with the API's date window."""

import re
from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from hyperrep import phones
from hyperrep.api.dates import BAD_FORMAT, check_window, parse_instant
from hyperrep.api.parameters import INSTANT, or_empty
from hyperrep.errors import InvalidValue

REPEATED = "Give this parameter once."
UNKNOWN = "Unknown query parameter."

# `+02:00` in a query string that was not percent-encoded arrives as ` 02:00`.
_UNENCODED_PLUS = re.compile(r"(?<=\d) (?=\d{2}(?::?\d{2})?$)")


class InstantField(forms.Field):
    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        try:
            return parse_instant(_UNENCODED_PLUS.sub("+", str(value).strip()))
        except ValueError:
            raise forms.ValidationError(BAD_FORMAT) from None


@extend_schema_field(or_empty(INSTANT))
class InstantFilter(django_filters.Filter):
    field_class = InstantField


class BooleanField(forms.Field):
    """`true` or `false`, as JSON spells them; anything else is an error, never ignored
    (django-filter's own BooleanFilter reads `maybe` as no filter at all)."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Must be true or false.")


@extend_schema_field(or_empty({"type": "boolean"}))
class BooleanFilter(django_filters.BooleanFilter):
    field_class = BooleanField


class PhoneNumberField(forms.Field):
    """A number to look up, as its E.164 form (hyperrep/phones.py)."""

    def to_python(self, value: Any) -> str | None:
        if value in (None, ""):
            return None
        e164 = phones.to_e164(str(value))
        if e164 is None:
            raise forms.ValidationError(phones.INVALID)
        return e164


@extend_schema_field(or_empty({"type": "string", "format": "phone"}))
class PhoneNumberFilter(django_filters.CharFilter):
    field_class = PhoneNumberField


class FilterSet(django_filters.FilterSet):
    """The base of every list's filters: `start_date`/`end_date` bound the column named by
    `date_field`."""

    date_field = "created_at"

    start_date = InstantFilter(lookup_expr="gte", label="Inclusive lower bound (ISO 8601)")
    end_date = InstantFilter(lookup_expr="lt", label="Exclusive upper bound (ISO 8601)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["start_date"].field_name = self.date_field
        self.filters["end_date"].field_name = self.date_field

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        check_window(
            self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
        )
        return super().filter_queryset(queryset)


def check_query_string(request: Request, known: frozenset[str]) -> None:
    """What every query string must be: no NUL characters anywhere (PostgreSQL cannot compare
    text with one: a database error, not an empty answer), only names the endpoint knows (a
    typo must not return unfiltered rows), and none given twice."""
    params = list(request.query_params.lists())
    if any("\x00" in text for name, values in params for text in (name, *values)):
        raise InvalidValue("NUL characters are not allowed")
    problems = {
        # `?limit=abc&limit=5` must not pass as `limit=5`: which one a client meant is unknown.
        name: [UNKNOWN if name not in known else REPEATED]
        for name, values in params
        if name not in known or len(values) > 1
    }
    if problems:
        raise ValidationError(problems)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend for every list (the query string was checked by the view,
    `check_query_string`). No filter set is built for a request that filters nothing: most
    list calls name no filter, and a filter set (a form and a deep copy of every filter)
    costs about a third of a millisecond."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(
            filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
