from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from core.admin import MunicipalityScopedAdmin
from core.money import format_amount

from .forms import AllocationForm, StateNoticeForm
from .models import (
    Allocation,
    BaseRate,
    CarryOver,
    CashFrame,
    Drawdown,
    DrawdownReceipt,
    LedgerEntry,
    StateNotice,
    StateTranche,
    tranche_problems,
)
from .selectors import allocations_with_balance
from .shares import SHARES


class CashFrameFormSet(forms.BaseInlineFormSet):
    """The frames of the budget years add up to the allocation's amount (or there are none: all in its year)."""

    def clean(self):
        super().clean()
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not rows:
            return
        amount = self.instance.amount
        if any(r["year"] < self.instance.year for r in rows):
            raise ValidationError(_("Haushaltsjahre vor dem Programmjahr gibt es für die Mittelausstattung nicht."))
        if amount is not None and sum(r["amount"] for r in rows) != amount:
            raise ValidationError(
                _("Die Kassenmittel der Haushaltsjahre ergeben zusammen %(sum)s €, die Mittelausstattung %(amount)s €.")
                % {"sum": format_amount(sum(r["amount"] for r in rows)), "amount": format_amount(amount)}
            )


class CashFrameInline(admin.TabularInline):
    model = CashFrame
    formset = CashFrameFormSet
    extra = 0
    fields = ("year", "amount")


@admin.register(Allocation)
class AllocationAdmin(MunicipalityScopedAdmin):
    municipality_path = "programme__municipality"
    form = AllocationForm
    inlines = [CashFrameInline]
    list_display = ("programme", "year", "amount", "shares_display", "committed", "paid", "available")
    list_filter = ("year", "programme__municipality")

    def get_fields(self, request, obj=None):
        if obj is not None and obj.entries.exists():
            return ("programme", "year", "amount", "shares_display", "state_notice")
        return ("programme", "year", "amount", *SHARES, "state_notice")

    def get_queryset(self, request):
        return allocations_with_balance(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        # Once money is booked against it, moving it or re-splitting its shares would falsify the ledger.
        if obj is not None and obj.entries.exists():
            return ("programme", "year", "amount", "shares_display")
        return ()

    @admin.display(description=_("Förderanteile"))
    def shares_display(self, obj):
        return obj.shares_display

    @admin.display(description=_("gebunden"))
    def committed(self, obj):
        return obj.committed

    @admin.display(description=_("ausgezahlt"))
    def paid(self, obj):
        return obj.paid

    @admin.display(description=_("verfügbar"))
    def available(self, obj):
        return obj.available


class ShownOnly:
    """Bookings and their records: shown in the admin, never added, changed or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ShownOnly, MunicipalityScopedAdmin):
    """The ledger is append-only: entries are shown, never added, changed or deleted here."""

    municipality_path = "allocation__programme__municipality"
    list_display = ("booked_at", "allocation", "application", "kind", "amount", "federal_amount", "state_amount",
                    "municipal_amount", "private_amount", "booked_by")  # fmt: skip
    list_filter = ("kind", "allocation__year", "allocation__programme")
    list_select_related = ("allocation__programme", "application", "booked_by")
    date_hierarchy = "booked_at"


@admin.register(CarryOver)
class CarryOverAdmin(ShownOnly, MunicipalityScopedAdmin):
    """Carry-overs are proposed and confirmed in the workspace (four-eyes); here they are only shown."""

    municipality_path = "allocation__programme__municipality"
    list_display = ("allocation", "from_year", "status", "amount", "committed", "cases", "proposed_by", "decided_by")
    list_filter = ("status", "from_year")


class StateTrancheFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [form.cleaned_data for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        problems = tranche_problems(self.instance, [(row["year"], row["amount"]) for row in rows])
        if problems:
            raise ValidationError(problems)


class StateTrancheInline(admin.TabularInline):
    model = StateTranche
    formset = StateTrancheFormSet
    extra = 1
    fields = ("year", "amount")


@admin.register(StateNotice)
class StateNoticeAdmin(MunicipalityScopedAdmin):
    """The state's funding notice with its cash per year; finance records it (the workspace offers the same)."""

    municipality_path = "municipality"
    form = StateNoticeForm
    inlines = [StateTrancheInline]
    list_display = ("number", "municipality", "issued_on", "funding_body", "eligible_total", "shares_display",
                    "period_start", "period_end")  # fmt: skip
    list_filter = ("municipality",)
    search_fields = ("number", "funding_body")
    fields = ("municipality", "number", "issued_on", "funding_body", "eligible_total", *SHARES, "period_start",
              "period_end")  # fmt: skip

    @admin.display(description=_("Förderanteile"))
    def shares_display(self, obj):
        return obj.shares_display

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class DrawdownReceiptInline(admin.TabularInline):
    model = DrawdownReceipt
    fields = ("received_on", "federal_amount", "state_amount", "booked_by", "booked_at")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Drawdown)
class DrawdownAdmin(ShownOnly, MunicipalityScopedAdmin):
    """Drawdowns and their receipts are bookings: shown here, requested and received in the workspace only."""

    municipality_path = "notice__municipality"
    inlines = [DrawdownReceiptInline]
    list_display = ("notice", "number", "requested_on", "federal_amount", "state_amount", "requested_by")
    list_filter = ("notice__municipality",)
    list_select_related = ("notice", "requested_by")


@admin.register(BaseRate)
class BaseRateAdmin(admin.ModelAdmin):
    """The Bundesbank's base rates: one list for every town; only superusers add or change one (like the command)."""

    list_display = ("valid_from", "rate_percent")
    ordering = ("-valid_from",)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False
