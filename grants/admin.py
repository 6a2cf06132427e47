from django import forms
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_fsm_log.admin import StateLogInline

from core.admin import MunicipalityScopedAdmin
from grants.batches import letter_batch_create

from .letters import letter_correct
from .models import (
    GUIDELINE_TERMS,
    CostItem,
    DeemedNotificationRule,
    Document,
    FundingAreaStreet,
    GrantApplication,
    GuidelineVersion,
    Letter,
    LetterBatch,
    LetterTemplate,
    MeasureComponent,
    OutboundEmail,
    Programme,
    ProgrammeComponentRule,
    frozen_message,
)


class ComponentRuleInline(admin.TabularInline):
    model = ProgrammeComponentRule
    extra = 0


class FundingAreaInline(admin.TabularInline):
    model = FundingAreaStreet
    extra = 0


class VersionInline(admin.TabularInline):
    """The programme's guideline versions, read only here: each is edited, or copied, on its own page."""

    model = GuidelineVersion
    extra = 0
    fields = readonly_fields = ("number", "valid_from", "funding_rate_percent", "reason", "author", "created_at")
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Programme)
class ProgrammeAdmin(MunicipalityScopedAdmin):
    municipality_path = "municipality"
    list_display = ("name", "municipality", "kind", "code", "current_version", "opens_on", "closes_on")
    list_filter = ("municipality", "kind")
    list_select_related = ("municipality", "current_version__programme")
    readonly_fields = ("current_version",)
    inlines = [VersionInline]

    def response_add(self, request, obj, post_url_continue=None):
        # A programme takes applications only once it has a guideline: its first version comes next.
        return redirect(f"{reverse('admin:grants_guidelineversion_add')}?programme={obj.pk}")


class GuidelineVersionForm(forms.ModelForm):
    """Refuses a change of a version under which an application has been submitted: that is a new version."""

    class Meta:
        model = GuidelineVersion
        fields = ["programme", "valid_from", "reason", *(f.name for f in GUIDELINE_TERMS)]

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is not None:
            if instance.is_frozen():
                raise forms.ValidationError(frozen_message(instance), code="frozen")
            if cleaned.get("programme") and cleaned["programme"].pk != instance.programme_id:
                self.add_error("programme", _("Eine Fassung bleibt bei ihrem Programm."))
        return cleaned


@admin.register(GuidelineVersion)
class GuidelineVersionAdmin(MunicipalityScopedAdmin):
    """Fassungen der Förderrichtlinie. A version with submissions is frozen: "Als neu speichern" makes the next one."""

    form = GuidelineVersionForm
    municipality_path = "programme__municipality"
    list_display = ("__str__", "programme", "number", "valid_from", "funding_rate_percent", "author", "created_at")
    list_filter = ("programme__municipality", "programme")
    list_select_related = ("programme", "author")
    readonly_fields = ("number", "author", "created_at", "frozen")
    inlines = [ComponentRuleInline, FundingAreaInline]
    save_as = True
    save_as_continue = True

    @admin.display(description=_("Stand"))
    def frozen(self, obj):
        if obj is None or obj.pk is None:
            return _("neue Fassung")
        if obj.is_frozen():
            return _(
                "eingefroren: Es wurden Anträge unter dieser Fassung eingereicht. Änderungen bitte mit "
                "„Als neu speichern“ als neue Fassung anlegen."
            )
        return _("änderbar, solange kein Antrag unter ihr eingereicht ist")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
            obj.number = 0  # the next number of the programme, drawn on save
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        # A version stays as part of the history of the programme's terms.
        return False


class ComponentInline(admin.TabularInline):
    model = MeasureComponent
    extra = 0
    show_change_link = True


class DocumentInline(admin.TabularInline):
    """Shown, never added or replaced here: a file comes in only through document_upload, which checks it."""

    model = Document
    extra = 0
    fields = readonly_fields = ("kind", "original_name", "uploaded_by", "uploaded_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GrantApplication)
class GrantApplicationAdmin(MunicipalityScopedAdmin):
    """Applications change state only through grants.services; here the draft data can be corrected."""

    municipality_path = "programme__municipality"
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
    actions = ["make_missing_letters"]

    @admin.action(description=_("Fehlende Schreiben im Hintergrund erzeugen"))
    def make_missing_letters(self, request, queryset):
        batch = letter_batch_create(application_ids=queryset.values_list("pk", flat=True), by=request.user)
        return redirect("letter-batch", pk=batch.pk)

    def has_change_permission(self, request, obj=None):
        editable = obj is None or obj.state == GrantApplication.State.DRAFT
        return editable and super().has_change_permission(request, obj)


class CostItemInline(admin.TabularInline):
    model = CostItem
    extra = 0


@admin.register(MeasureComponent)
class MeasureComponentAdmin(MunicipalityScopedAdmin):
    municipality_path = "application__programme__municipality"
    list_display = ("application", "kind", "area_m2")
    list_select_related = ("application",)
    raw_id_fields = ("application",)
    inlines = [CostItemInline]

    def has_change_permission(self, request, obj=None):
        # Like the application itself: measures and costs change only while it is a draft.
        editable = obj is None or obj.application.state == GrantApplication.State.DRAFT
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


@admin.register(LetterTemplate)
class LetterTemplateAdmin(MunicipalityScopedAdmin):
    """Staff edit the wording of letters here, per municipality or per programme, without a deploy."""

    municipality_path = "municipality"
    list_display = ("kind", "municipality", "programme", "subject")
    list_filter = ("municipality", "kind")
    list_select_related = ("municipality", "programme")


@admin.register(Letter)
class LetterAdmin(MunicipalityScopedAdmin):
    """Letters are made by the lifecycle and never changed; a correction is a new letter."""

    municipality_path = "application__programme__municipality"
    list_display = ("created_at", "application", "kind", "subject", "corrects", "sha256")
    list_filter = ("kind",)
    search_fields = ("application__file_number", "subject")
    list_select_related = ("application", "corrects")
    actions = ["correct"]

    @admin.action(description=_("Berichtigtes Schreiben erzeugen (das alte bleibt unverändert)"))
    def correct(self, request, queryset):
        for letter in queryset:
            letter_correct(letter_id=letter.pk, by=request.user)
        self.message_user(request, _("%(count)s berichtigte Schreiben erzeugt.") % {"count": queryset.count()})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(MunicipalityScopedAdmin):
    municipality_path = "application__programme__municipality"  # staff digests have none: superusers only
    list_display = ("created_at", "to", "subject", "sent_at")
    search_fields = ("to", "subject", "key")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LetterBatch)
class LetterBatchAdmin(MunicipalityScopedAdmin):
    list_display = ("__str__", "created_by", "created_at", "status", "created_letters")
    readonly_fields = ("created_by", "status", "total", "done", "created_letters", "failures")
    exclude = ("applications",)

    def scoped(self, request, queryset):
        # A batch may span municipalities; like its page (letter-batch), it belongs to whoever started it.
        return queryset.filter(created_by=request.user)

    def has_add_permission(self, request):
        return False


@admin.register(DeemedNotificationRule)
class DeemedNotificationRuleAdmin(admin.ModelAdmin):
    """The days after posting a notice counts as notified, per state from a date (§ 41 (2) VwVfG and the states')."""

    list_display = ("jurisdiction", "valid_from", "days", "source")
    list_filter = ("jurisdiction",)
    ordering = ("jurisdiction", "valid_from")
