from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest

from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatusChange
from apps.transfer.records import check_quote_details
from hyperrep.custom_fields import check_custom_fields
from hyperrep.tenancy.admin import TenantAdmin, TenantInline, TenantInlineFormSet


class SaleContactFormSet(TenantInlineFormSet):
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


class SaleStatusChangeInline(TenantInline):
    """The status history, oldest first; its last row is the sale's current status."""

    model = SaleStatusChange
    fields = ("label", "status", "changed_at")
    verbose_name = "status change"
    verbose_name_plural = "status history (oldest first; the last is the current status)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SaleStatusChange]:
        return super().get_queryset(request).order_by("changed_at", "id")


class SaleContactInline(TenantInline):
    model = SaleContact
    formset = SaleContactFormSet
    fields = ("contact", "is_primary")
    verbose_name = "associated contact"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SaleContact]:
        return super().get_queryset(request).select_related("contact").order_by("id")


class SaleConversationInline(TenantInline):
    model = SaleConversation
    fields = ("conversation",)
    verbose_name = "associated conversation"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SaleConversation]:
        return super().get_queryset(request).select_related("conversation__contact").order_by("id")


@admin.register(Sale)
class SaleAdmin(TenantAdmin):
    json_checks = {"quote_details": check_quote_details, "custom_fields": check_custom_fields}
    list_display = (
        "public_id",
        "current_status",
        "company",
        "owner",
        "created_at",
        "organization_name",
    )
    list_filter = ("organization", "is_draft")
    list_select_related = ("organization", "company", "owner")
    search_fields = ("public_id__exact", "company__name")  # ids are case-sensitive
    ordering = ("-created_at", "-id")
    show_full_result_count = False
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
