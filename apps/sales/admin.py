from typing import ClassVar

from django.contrib import admin
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.forms import BaseInlineFormSet, ModelForm
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest

from apps.organizations.admin import TenantAdmin

# The ignores below: mypy reads TenantAdmin's tuples as fixed-length types.
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatusChange


class SaleRowsFormSet(BaseInlineFormSet):
    """Rows that belong to a sale: each new one takes the sale's organization, and one that
    points at another organization's row, or at a row already listed, is a form error."""

    instance: Sale
    # Related fields that must be of the sale's organization, each listed once.
    tenant_relations: ClassVar[tuple[str, ...]] = ()

    def clean(self) -> None:
        super().clean()
        organization_id = self.instance.organization_id
        seen: dict[str, set[int]] = {name: set() for name in self.tenant_relations}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get(DELETION_FIELD_NAME):
                continue
            for name in self.tenant_relations:
                related = form.cleaned_data.get(name)
                if related is None:
                    continue
                if organization_id is not None and related.organization_id != organization_id:
                    form.add_error(name, f"{name.title()} of another organization.")
                elif related.pk in seen[name]:
                    form.add_error(name, f"This {name} is listed twice.")
                else:
                    seen[name].add(related.pk)

    def save_new(self, form: ModelForm, commit: bool = True) -> Model:
        # The organization is not a form field: it is always the sale's.
        form.instance.organization_id = self.instance.organization_id
        return super().save_new(form, commit=commit)


class SaleContactFormSet(SaleRowsFormSet):
    tenant_relations = ("contact",)

    def clean(self) -> None:
        super().clean()
        primaries = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", {}).get("is_primary")
            and not form.cleaned_data.get(DELETION_FIELD_NAME)
        ]
        if len(primaries) > 1:
            primaries[-1].add_error("is_primary", "Only one contact of a sale is primary.")


class SaleConversationFormSet(SaleRowsFormSet):
    tenant_relations = ("conversation",)


class SaleStatusChangeInline(admin.TabularInline):
    """The status history, oldest first; its last row is the sale's current status."""

    model = SaleStatusChange
    formset = SaleRowsFormSet
    fields = ("label", "status", "changed_at")
    extra = 0
    verbose_name = "status change"
    verbose_name_plural = "status history (oldest first; the last is the current status)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SaleStatusChange]:
        return super().get_queryset(request).order_by("changed_at", "id")


class SaleContactInline(admin.TabularInline):
    model = SaleContact
    formset = SaleContactFormSet
    fields = ("contact", "is_primary")
    raw_id_fields = ("contact",)
    extra = 0
    verbose_name = "associated contact"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SaleContact]:
        return super().get_queryset(request).select_related("contact").order_by("id")


class SaleConversationInline(admin.TabularInline):
    model = SaleConversation
    formset = SaleConversationFormSet
    fields = ("conversation",)
    raw_id_fields = ("conversation",)
    extra = 0
    verbose_name = "associated conversation"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SaleConversation]:
        return super().get_queryset(request).select_related("conversation").order_by("id")


@admin.register(Sale)
class SaleAdmin(TenantAdmin):
    list_display = (
        "public_id",
        "company",
        "owner",
        "is_draft",
        "current_status",
        "created_at",
        "organization",
    )
    list_filter = ("organization", "is_draft")
    list_select_related = ("organization", "company", "owner")
    search_fields = ("public_id__exact",)  # ids are case-sensitive
    show_full_result_count = False
    raw_id_fields = ("company", "owner")
    readonly_fields = ("public_id", "created_at", "current_status")
    inlines = (SaleStatusChangeInline, SaleContactInline, SaleConversationInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sale]:
        # The latest label, in the page's one query: an index probe per listed sale.
        latest = SaleStatusChange.objects.filter(sale=OuterRef("pk")).order_by("-changed_at", "-id")
        return (
            super()
            .get_queryset(request)
            .annotate(current_status_label=Subquery(latest.values("label")[:1]))
        )

    @admin.display(description="current status", ordering="current_status_label")
    def current_status(self, sale: Sale) -> str:
        return getattr(sale, "current_status_label", None) or "-"
