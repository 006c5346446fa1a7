"""The admin's base for tenant rows: the admin is a superuser's view across organizations,
so its reads are deliberately unscoped, and every write is checked against tenancy by the
model's `clean()` (hyperrep/tenancy/models.py).

`TenantAdmin` browses one model's rows per organization; `TenantInline` shows rows that
belong to a parent row on its page. Relations are picked with autocomplete widgets, and a
row never moves to another organization once saved.
"""

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Model, QuerySet, UniqueConstraint
from django.db.models.fields.related import RelatedField
from django.forms import BaseInlineFormSet, ModelChoiceField, ModelForm
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.utils.text import capfirst

from hyperrep import phones
from hyperrep.admin import CheckedJSONField
from hyperrep.tenancy.models import TenantModel


def _is_tenant_model(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, TenantModel)


class TenantReads:
    """Unscoped reads for the admin's lists, forms and choices of tenant rows, and an
    autocomplete widget for every relation to a model the admin has."""

    model: type[Model]
    admin_site: admin.AdminSite

    def get_autocomplete_fields(self, request: HttpRequest) -> Any:
        return [
            field.name
            for field in self.model._meta.get_fields()
            if (field.many_to_one or field.many_to_many)
            and field.concrete
            and field.related_model in self.admin_site._registry
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return queryset.unscoped() if _is_tenant_model(self.model) else queryset

    def get_field_queryset(
        self, db: str | None, db_field: "RelatedField[Any, Any]", request: HttpRequest
    ) -> QuerySet | None:
        queryset = super().get_field_queryset(db, db_field, request)  # type: ignore[misc]
        related = db_field.remote_field.model
        if not _is_tenant_model(related):
            return queryset
        if queryset is None:
            queryset = related._default_manager.using(db)
        return queryset.unscoped()


class TenantAdmin(TenantReads, admin.ModelAdmin):
    """Browse one model's rows per organization."""

    # Any number of names: every subclass lists its own.
    list_filter: ClassVar[tuple[str, ...]] = ("organization",)
    list_select_related: ClassVar[tuple[str, ...]] = ("organization",)
    readonly_fields: ClassVar[tuple[str, ...]] = ("public_id", "created_at")
    # JSON columns edited here, each with the rule the API and the import apply to it.
    json_checks: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    # The E.164 column a search term that is a phone number matches, however it is written.
    phone_search: ClassVar[str | None] = None

    @admin.display(description="organization", ordering="organization__name")
    def organization_name(self, row: Any) -> str:
        return row.organization.name

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if self.phone_search and (e164 := phones.to_e164(search_term)):
            found |= queryset.filter(**{self.phone_search: e164})
        return found, may_have_duplicates

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        check = self.json_checks.get(db_field.name)
        if check is not None:
            return CheckedJSONField(
                check, label=capfirst(db_field.verbose_name), help_text=db_field.help_text
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A row never moves to another organization: its relations would cross tenants.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "organization") if obj is not None else fields


class OutboxAdmin(TenantAdmin):
    """Rows the server and its worker write (drafts, webhook deliveries, inbound events):
    shown, never edited in a form. Their actions move them, declared with
    `permissions=["act"]`: they take the change permission the forms do not have."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_act_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)


class TenantInlineFormSet(BaseInlineFormSet):
    """Rows of a parent: each form's row takes the parent's organization before it is
    validated, so the model's cross-tenant `clean()` judges it like any other row, and a row
    listed twice is a form error rather than a unique-constraint crash. (Django's own
    formset check skips every constraint with a column the form lacks, and every tenant
    constraint has the organization.)"""

    @classmethod
    def get_default_prefix(cls) -> str:
        # A parent that keeps no accessor for its rows (related_name="+") names them anyway.
        return super().get_default_prefix() or str(cls.model._meta.verbose_name_plural)

    def clean(self) -> None:
        super().clean()
        for constraint in self.model._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.condition is None:
                named = [n for n in constraint.fields if n not in ("organization", self.fk.name)]
                if len(named) == 1:
                    self._refuse_repeats(named[0])

    def _refuse_repeats(self, name: str) -> None:
        seen = set()
        for form in self.forms:
            cleaned = getattr(form, "cleaned_data", None)
            if not cleaned or cleaned.get(DELETION_FIELD_NAME) or cleaned.get(name) is None:
                continue
            key = getattr(cleaned[name], "pk", cleaned[name])  # a row, or a plain value
            if key in seen:
                label = self.model._meta.get_field(name).verbose_name  # type: ignore[union-attr]
                form.add_error(name, f"This {label} is listed twice.")
            seen.add(key)

    model: type[Model]

    def _construct_form(self, i: int, **kwargs: Any) -> Any:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]
        if _is_tenant_model(type(self.instance)):
            form.instance.organization_id = self.instance.organization_id
        return form

    def add_fields(self, form: ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        # Django reads a row's own key back through the default manager: unscoped, as the
        # admin's reads are (the parent's relation has already scoped the rows shown).
        pk_field = form.fields.get(self.model._meta.pk.name)
        if isinstance(pk_field, ModelChoiceField) and _is_tenant_model(self.model):
            pk_field.queryset = pk_field.queryset.unscoped()  # type: ignore[union-attr]


class TenantInline(TenantReads, admin.TabularInline):
    formset = TenantInlineFormSet
    extra = 0


class ReadOnlyInline(TenantInline):
    """Rows shown on their parent's page, never written there."""

    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
