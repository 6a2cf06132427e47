from django.contrib import admin
from django_fsm_log.admin import StateLogInline

from .models import (
    CostItem,
    Document,
    FundingAreaStreet,
    GrantApplication,
    MeasureComponent,
    Municipality,
    Programme,
    ProgrammeComponentRule,
)


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("name", "official_name")
    filter_horizontal = ("staff",)


class ComponentRuleInline(admin.TabularInline):
    model = ProgrammeComponentRule
    extra = 0


class FundingAreaInline(admin.TabularInline):
    model = FundingAreaStreet
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "municipality", "kind", "code", "funding_rate_percent", "opens_on", "closes_on")
    list_filter = ("municipality", "kind")
    inlines = [ComponentRuleInline, FundingAreaInline]


class ComponentInline(admin.TabularInline):
    model = MeasureComponent
    extra = 0
    show_change_link = True


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    readonly_fields = ("uploaded_by", "uploaded_at")


@admin.register(GrantApplication)
class GrantApplicationAdmin(admin.ModelAdmin):
    """Applications change state only through grants.services; here the draft data can be corrected."""

    list_display = ("__str__", "programme", "applicant", "state", "computed_grant", "approved_grant", "paid_amount")
    list_filter = ("programme__municipality", "programme", "state")
    search_fields = ("file_number", "applicant__name", "applicant__organisation", "property__street")
    list_select_related = ("programme__municipality", "applicant")
    raw_id_fields = ("applicant", "property", "consultation")
    readonly_fields = (
        "file_number", "state", "submitted_at", "total_costs", "eligible_costs", "computed_grant", "computation",
        "checked_by", "checked_at", "approved_by", "approved_at", "approved_grant", "budget_year",
        "completion_deadline", "invoice_deadline", "invoices_certified_by", "invoices_certified_at",
        "payable_amount", "paid_by", "paid_at", "paid_amount",
    )  # fmt: skip
    inlines = [ComponentInline, DocumentInline, StateLogInline]

    def has_change_permission(self, request, obj=None):
        editable = obj is None or obj.state == GrantApplication.State.DRAFT
        return editable and super().has_change_permission(request, obj)


class CostItemInline(admin.TabularInline):
    model = CostItem
    extra = 0


@admin.register(MeasureComponent)
class MeasureComponentAdmin(admin.ModelAdmin):
    list_display = ("application", "kind", "area_m2")
    raw_id_fields = ("application",)
    inlines = [CostItemInline]
