"""Thin serializers: they shape JSON and parse input; every rule and write lives in rules.py and services.py."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from django.utils.translation import gettext as _
from django_fsm_log.models import StateLog
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from applicants.rules import own_applicants, visible_properties
from core.api import Money
from core.money import MAX_AMOUNT
from core.text import TextSerializerField, max_length_of

from .calculator import BuildingCategory
from .deminimis import register_row
from .models import (
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    Appeal,
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    DeminimisRegulation,
    Document,
    GrantApplication,
    GuidelineVersion,
    Inspection,
    Invoice,
    Letter,
    MeasureComponent,
    MeasureKind,
    Notice,
    PartialPayment,
    Programme,
    ProofOfUse,
    Repayment,
    Revocation,
    SaleReport,
)
from .rules import visible_programmes
from .services import ComponentInput, CostInput, InvoiceInput
from .steps import action_of


class ProgrammeComponentRuleSerializer(serializers.Serializer):
    component = serializers.CharField()
    cost_cap_per_m2 = Money(allow_null=True)
    grant_cap_per_m2 = Money(allow_null=True)
    component_cap = Money(allow_null=True)
    cost_cap_per_m2_special_value = Money(allow_null=True)
    grant_cap_per_m2_special_value = Money(allow_null=True)
    cost_cap_per_m2_special_case = Money(allow_null=True)
    grant_cap_per_m2_special_case = Money(allow_null=True)


class FundingAreaStreetSerializer(serializers.Serializer):
    street = serializers.CharField()
    number_from = serializers.IntegerField(allow_null=True)
    number_to = serializers.IntegerField(allow_null=True)
    parity = serializers.CharField()


class GuidelineVersionSerializer(serializers.ModelSerializer):
    """A version of the programme's guideline with all its terms."""

    component_rules = ProgrammeComponentRuleSerializer(many=True, read_only=True)
    funding_area = FundingAreaStreetSerializer(many=True, read_only=True)

    class Meta:
        model = GuidelineVersion
        fields = [
            "id",
            "number",
            "valid_from",
            "reason",
            "funding_rate_percent",
            "property_cap",
            "minimum_grant",
            "minimum_eligible_costs",
            "minimum_order_volume",
            "ancillary_cap_percent",
            "rounding",
            "vat_rule",
            "consultation_required",
            "consultation_max_age_days",
            "quotes_required",
            "photo_before_required",
            "land_register_required",
            "commitment_years",
            "applies_to_pending",
            "component_rules",
            "funding_area",
        ]
        read_only_fields = fields


class GuidelineVersionSummarySerializer(serializers.ModelSerializer):
    """Which version of the guideline a case is computed under (the legal basis of its notice)."""

    class Meta:
        model = GuidelineVersion
        fields = ["id", "number", "valid_from", "funding_rate_percent"]
        read_only_fields = fields


class ProgrammeSerializer(serializers.ModelSerializer):
    municipality_name = serializers.CharField(source="municipality.name", read_only=True)
    guideline = GuidelineVersionSerializer(
        source="current_version",
        read_only=True,
        allow_null=True,
        help_text="Die geltende Fassung der Förderrichtlinie: für Anträge, die ab jetzt eingereicht werden.",
    )

    class Meta:
        model = Programme
        fields = [
            "id",
            "municipality",
            "municipality_name",
            "kind",
            "name",
            "code",
            "description",
            "opens_on",
            "closes_on",
            "completion_months",
            "invoice_months",
            "guideline",
        ]
        read_only_fields = fields


class CostItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = CostItem
        fields = ["stage", "description", "net_amount", "vat_amount", "ancillary"]
        read_only_fields = fields


class MeasureComponentSerializer(serializers.ModelSerializer):
    cost_items = CostItemSerializer(many=True, read_only=True)

    class Meta:
        model = MeasureComponent
        fields = ["kind", "area_m2", "description", "category", "cost_items"]
        read_only_fields = fields


class DeadlineExtensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeadlineExtension
        fields = [
            "id",
            "requested_at",
            "reason",
            "completion_deadline_before",
            "invoice_deadline_before",
            "completion_deadline",
            "invoice_deadline",
            "outcome",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields


class ChangeRequestSerializer(serializers.ModelSerializer):
    measures_before = serializers.JSONField(read_only=True, help_text="Maßnahmen und Kosten vor der Änderung.")
    measures = serializers.JSONField(read_only=True, help_text="Beantragte Maßnahmen und Kosten.")
    computation = serializers.JSONField(read_only=True, help_text="Rechenweg des Zuschusses nach der Änderung.")

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "requested_at",
            "reason",
            "measures_before",
            "measures",
            "grant_before",
            "grant",
            "computation",
            "completion_deadline_before",
            "invoice_deadline_before",
            "completion_deadline",
            "invoice_deadline",
            "outcome",
            "checked_at",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    eligible_vat = Money(
        read_only=True, allow_null=True, help_text="Umsatzsteuer auf den förderfähigen Teil, anteilig."
    )

    class Meta:
        model = Invoice
        fields = [
            "id",
            "document",
            "number",
            "issued_on",
            "supplier",
            "measure",
            "description",
            "ancillary",
            "net_amount",
            "vat_amount",
            "gross_amount",
            "paid_on",
            "payment_proof",
            "entered_at",
            "eligible_amount",
            "eligible_vat",
            "cut_reason",
            "certified_at",
            "partial_payment",
        ]
        read_only_fields = fields


class ProofOfUseSerializer(serializers.ModelSerializer):
    documents = serializers.PrimaryKeyRelatedField(
        many=True,
        read_only=True,
        help_text="Die Schlussrechnungen und Fotos nach der Maßnahme, die bei der Einreichung vorlagen "
        "(IDs der Dokumente).",
    )

    class Meta:
        model = ProofOfUse
        fields = [
            "id",
            "submitted_at",
            "completed_on",
            "report",
            "documents",
            "outcome",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields


class RepaymentOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Repayment
        fields = ["id", "received_on", "amount", "principal_part", "interest_part", "booked_at"]
        read_only_fields = fields


class RevocationSerializer(serializers.ModelSerializer):
    repayments = RepaymentOutSerializer(many=True, read_only=True)

    class Meta:
        model = Revocation
        fields = [
            "id",
            "reason",
            "facts",
            "intended_amount",
            "opened_at",
            "hearing_deadline",
            "answer",
            "answered_at",
            "outcome",
            "decided_at",
            "decision_comment",
            "grant_before",
            "revoked_amount",
            "effective_from",
            "paid_before",
            "principal",
            "due_on",
            "interest_waived",
            "late_use_amount",
            "late_use_from",
            "late_use_until",
            "late_use_interest",
            "reminders",
            "last_reminded_on",
            "settled_at",
            "repayments",
        ]
        read_only_fields = fields


class InspectionSerializer(serializers.ModelSerializer):
    photos = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Die Fotos (Unterlagen).")

    class Meta:
        model = Inspection
        fields = ["id", "inspected_on", "finding", "notes", "photos", "recorded_at", "revocation"]
        read_only_fields = fields


class SaleReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = SaleReport
        fields = ["id", "sold_on", "buyer", "buyer_continues", "notes", "reported_at", "revocation"]
        read_only_fields = fields


class PartialPaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartialPayment
        fields = ["id", "number", "amount", "paid_at"]
        read_only_fields = fields


class GrantApplicationSerializer(serializers.ModelSerializer):
    components = MeasureComponentSerializer(many=True, read_only=True)
    invoices = InvoiceSerializer(many=True, read_only=True, help_text="Die erfassten Rechnungen, mit ihrer Prüfung.")
    partial_payments = PartialPaymentSerializer(many=True, read_only=True, help_text="Abschlagszahlungen.")
    proofs = ProofOfUseSerializer(
        many=True,
        read_only=True,
        help_text="Verwendungsnachweise der Antragsteller/in, älteste zuerst: eingereicht, anerkannt oder zur "
        "Ergänzung zurückgegeben.",
    )
    changes = ChangeRequestSerializer(
        many=True,
        read_only=True,
        help_text="Änderungsanträge, älteste zuerst: jede bewilligte ist eine neue Fassung der Maßnahmen und Kosten.",
    )
    extensions = DeadlineExtensionSerializer(
        many=True, read_only=True, help_text="Fristverlängerungen: beantragt, bewilligt oder abgelehnt, älteste zuerst."
    )
    revocations = RevocationSerializer(
        many=True,
        read_only=True,
        help_text="Widerrufsverfahren, älteste zuerst: Anhörung, Äußerung, Entscheidung, Erstattung und Rückzahlungen.",
    )
    inspections = InspectionSerializer(
        many=True, read_only=True, help_text="Vor-Ort-Kontrollen in der Zweckbindungsfrist, älteste zuerst."
    )
    sale_reports = SaleReportSerializer(
        many=True, read_only=True, help_text="Gemeldete Veräußerungen oder Umnutzungen in der Zweckbindungsfrist."
    )
    commitment_status = serializers.SerializerMethodField(
        help_text="Stand der Zweckbindung: running (läuft), fulfilled (nach dem Ende erfüllt), broken "
        "(Widerrufsverfahren); null vor der Auszahlung."
    )
    programme_name = serializers.CharField(source="programme.name", read_only=True)
    applicant_name = serializers.CharField(source="applicant.__str__", read_only=True)
    property_address = serializers.CharField(source="property.address", read_only=True)
    computation = serializers.JSONField(read_only=True, help_text="Rechenweg: je Maßnahme und gesamt, mit Grenze.")
    guideline_version = GuidelineVersionSummarySerializer(
        read_only=True,
        allow_null=True,
        help_text="Die Fassung der Förderrichtlinie, nach der der Antrag berechnet ist: bei der Einreichung "
        "festgehalten, mit der Bewilligung festgeschrieben.",
    )

    class Meta:
        model = GrantApplication
        fields = [
            "id",
            "file_number",
            "state",
            "programme",
            "programme_name",
            "guideline_version",
            "applicant",
            "applicant_name",
            "property",
            "property_address",
            "description",
            "works_started_on",
            "early_start_permitted",
            "created_at",
            "submitted_at",
            "total_costs",
            "eligible_costs",
            "computed_grant",
            "computation",
            "checked_at",
            "approved_at",
            "approved_grant",
            "budget_year",
            "completion_deadline",
            "invoice_deadline",
            "invoices_certified_at",
            "payable_amount",
            "paid_at",
            "paid_amount",
            "extension_requested_at",
            "extensions",
            "open_change",
            "changes",
            "invoices",
            "partial_payments",
            "proof_submitted_at",
            "proof_accepted_at",
            "proofs",
            "open_revocation",
            "reclaim_outstanding",
            "revocations",
            "commitment_from",
            "commitment_until",
            "commitment_status",
            "inspections",
            "sale_reported_at",
            "sale_reports",
            "components",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=GrantApplication.Commitment.choices, allow_null=True)  # type: ignore[arg-type]
    )
    def get_commitment_status(self, application) -> str | None:
        return application.commitment_status()


# --- input ----------------------------------------------------------------------------------


class CostInputSerializer(serializers.Serializer):
    description = TextSerializerField(max_length=max_length_of(CostItem, "description"))
    net_amount = Money(min_value=Decimal("0.00"), max_value=MAX_AMOUNT)
    vat_amount = Money(min_value=Decimal("0.00"), max_value=MAX_AMOUNT, default=Decimal("0.00"))
    ancillary = serializers.BooleanField(default=False)


class ComponentInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MeasureKind.choices)
    area_m2 = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("100000")
    )
    description = TextSerializerField(
        max_length=max_length_of(MeasureComponent, "description"), required=False, default="", allow_blank=True
    )
    category = serializers.ChoiceField(
        choices=BuildingCategory.choices,
        required=False,
        default=BuildingCategory.STANDARD,
        help_text="Gebäudekategorie, für Programme, die die Höchstbeträge je m² staffeln.",
    )
    costs = CostInputSerializer(many=True, max_length=100)


def component_inputs(data: list[dict]) -> list[ComponentInput]:
    return [
        ComponentInput(
            kind=c["kind"],
            area_m2=c["area_m2"],
            description=c.get("description", ""),
            category=c.get("category", BuildingCategory.STANDARD),
            costs=tuple(CostInput(**cost) for cost in c["costs"]),
        )
        for c in data
    ]


@extend_schema_field(OpenApiTypes.INT)
class _ScopedField(serializers.PrimaryKeyRelatedField):
    """A reference the caller may only point at what the rules let them use; anything else is 'does not exist'."""

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)


class GrantApplicationCreateSerializer(serializers.Serializer):
    programme = _ScopedField(visible_programmes, help_text="Ein Programm, das Sie sehen.")
    applicant = _ScopedField(own_applicants, help_text="Eines Ihrer eigenen Antragsteller-Profile.")
    property = _ScopedField(visible_properties, help_text="Ein Grundstück, das Sie erfasst haben.")
    description = TextSerializerField(required=False, default="", allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    works_started_on = serializers.DateField(required=False, allow_null=True, default=None)
    components = ComponentInputSerializer(many=True, max_length=len(MeasureKind.choices), default=list)


class GrantApplicationUpdateSerializer(serializers.Serializer):
    description = TextSerializerField(required=False, allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    works_started_on = serializers.DateField(required=False, allow_null=True)
    components = ComponentInputSerializer(
        many=True, required=False, max_length=len(MeasureKind.choices), help_text="Ersetzt alle Maßnahmen."
    )


class ApprovalBatchSerializer(serializers.Serializer):
    applications = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        min_length=1,
        max_length=500,
        help_text="IDs der geprüften Anträge, die bewilligt werden sollen.",
    )
    comment = TextSerializerField(
        required=False,
        default="",
        allow_blank=True,
        max_length=COMMENT_MAX_LENGTH,
        help_text="Kommentar für jede Akte.",
    )


class ApprovalBatchRefusalSerializer(serializers.Serializer):
    application = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())


class ApprovalBatchResultSerializer(serializers.Serializer):
    queued = serializers.ListField(
        child=serializers.IntegerField(), help_text="Zur Bewilligung eingereiht; die Mittelausstattung entscheidet."
    )
    refused = ApprovalBatchRefusalSerializer(many=True, help_text="Sofort abgelehnt, mit Gründen.")


class TransitionSerializer(serializers.Serializer):
    comment = TextSerializerField(
        required=False,
        default="",
        allow_blank=True,
        max_length=COMMENT_MAX_LENGTH,
        help_text="Kommentar für die Akte; bei Rückgabe und Ablehnung Pflicht.",
    )


class TransitionWithReasonSerializer(serializers.Serializer):
    # The body of a step whose comment is required (return to the applicant, reject): it says why.

    comment = TextSerializerField(
        max_length=COMMENT_MAX_LENGTH, help_text="Kommentar für die Akte: was fehlt oder warum abgelehnt wird."
    )


class ExtensionRequestSerializer(serializers.Serializer):
    completion_deadline = serializers.DateField(help_text="Neue Frist für den Abschluss der Maßnahme (JJJJ-MM-TT).")
    invoice_deadline = serializers.DateField(help_text="Neue Frist für die Schlussrechnungen (JJJJ-MM-TT).")
    reason = TextSerializerField(
        max_length=COMMENT_MAX_LENGTH, help_text="Warum die bisherigen Fristen nicht reichen (Pflicht)."
    )


class ChangeRequestInputSerializer(serializers.Serializer):
    components = ComponentInputSerializer(
        many=True,
        allow_empty=False,
        min_length=1,
        max_length=len(MeasureKind.choices),
        help_text="Alle Maßnahmen, wie sie nach der Änderung sein sollen, mit ihren Kosten (ersetzt die bisherigen).",
    )
    completion_deadline = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Neue Durchführungsfrist, falls sie sich ändert."
    )
    invoice_deadline = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Neue Frist Schlussrechnungen, falls sie sich ändert."
    )
    reason = TextSerializerField(max_length=COMMENT_MAX_LENGTH, help_text="Warum sich die Maßnahme ändert (Pflicht).")

    def validate_components(self, components):
        kinds = [c["kind"] for c in components]
        if len(set(kinds)) != len(kinds):
            raise serializers.ValidationError(_("Jede Art von Maßnahme kann nur einmal angegeben werden."))
        return components


class ProofOfUseInputSerializer(serializers.Serializer):
    completed_on = serializers.DateField(
        help_text="Tag, an dem die Arbeiten abgeschlossen wurden (JJJJ-MM-TT): nicht in der Zukunft, nicht vor der "
        "Bewilligung."
    )
    report = TextSerializerField(
        max_length=DESCRIPTION_MAX_LENGTH, help_text="Sachbericht: was ausgeführt wurde (Pflicht)."
    )


class CertifyInvoicesSerializer(TransitionSerializer):
    invoices = ComponentInputSerializer(
        many=True,
        allow_empty=False,
        min_length=1,
        max_length=len(MeasureKind.choices),
        required=False,
        help_text="Schlussrechnungen je Maßnahme; ohne sie gelten die geprüften Rechnungen des Antrags.",
    )


class InvoiceInputSerializer(serializers.Serializer):
    document = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Die hochgeladene Rechnung.")
    number = TextSerializerField(max_length=max_length_of(Invoice, "number"))
    issued_on = serializers.DateField()
    supplier = TextSerializerField(max_length=max_length_of(Invoice, "supplier"))
    measure = serializers.ChoiceField(choices=MeasureKind.choices, help_text="Die Maßnahme, die sie abrechnet.")
    description = TextSerializerField(max_length=max_length_of(Invoice, "description"))
    ancillary = serializers.BooleanField(default=False, help_text="Planung und Bauleitung.")
    net_amount = Money(min_value=Decimal("0.00"), max_value=MAX_AMOUNT)
    vat_amount = Money(min_value=Decimal("0.00"), max_value=MAX_AMOUNT, default=Decimal("0.00"))
    paid_on = serializers.DateField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if attrs["vat_amount"] > attrs["net_amount"]:
            raise serializers.ValidationError(
                {"vat_amount": _("Die Umsatzsteuer kann nicht höher sein als der Nettobetrag.")}
            )
        return attrs

    def invoice_input(self) -> InvoiceInput:
        data = dict(self.validated_data)
        data.pop("document")
        return InvoiceInput(**data)


class CertifyInvoiceSerializer(serializers.Serializer):
    invoice = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    eligible_amount = Money(min_value=Decimal("0.00"), max_value=MAX_AMOUNT, help_text="Förderfähig netto.")
    reason = TextSerializerField(
        required=False, default="", allow_blank=True, max_length=COMMENT_MAX_LENGTH, help_text="Grund einer Kürzung."
    )


class RevocationOpenSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Revocation.Reason.choices, help_text="Grund des Widerrufs.")
    facts = TextSerializerField(max_length=DESCRIPTION_MAX_LENGTH, help_text="Sachverhalt (Pflicht).")
    hearing_deadline = serializers.DateField(help_text="Frist zur Äußerung (JJJJ-MM-TT), frühestens in zwei Wochen.")
    intended_amount = Money(
        required=False,
        allow_null=True,
        default=None,
        min_value=Decimal("0.00"),
        max_value=MAX_AMOUNT,
        help_text="Beabsichtigter Widerruf in Euro; ohne Angabe der ganze Zuschuss.",
    )


class HearingAnswerSerializer(serializers.Serializer):
    answer = TextSerializerField(max_length=DESCRIPTION_MAX_LENGTH, help_text="Ihre Äußerung (Pflicht).")


class RevocationDecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[
            (Revocation.Outcome.REVOKED, Revocation.Outcome.REVOKED.label),
            (Revocation.Outcome.WITHDRAWN, Revocation.Outcome.WITHDRAWN.label),
            (Revocation.Outcome.INTEREST, Revocation.Outcome.INTEREST.label),
        ]
    )
    revoked_amount = Money(
        required=False, allow_null=True, default=None, min_value=Decimal("0.00"), max_value=MAX_AMOUNT
    )
    effective_from = serializers.DateField(required=False, allow_null=True, default=None)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    interest_waived = serializers.BooleanField(required=False, default=False)
    late_use_amount = Money(
        required=False, allow_null=True, default=None, min_value=Decimal("0.00"), max_value=MAX_AMOUNT
    )
    late_use_from = serializers.DateField(required=False, allow_null=True, default=None)
    late_use_until = serializers.DateField(required=False, allow_null=True, default=None)
    comment = TextSerializerField(max_length=COMMENT_MAX_LENGTH, help_text="Begründung (Pflicht, § 39 VwVfG).")


class InspectionInputSerializer(serializers.Serializer):
    inspected_on = serializers.DateField(help_text="Tag der Kontrolle (JJJJ-MM-TT), nicht in der Zukunft.")
    finding = serializers.ChoiceField(
        choices=Inspection.Finding.choices,
        help_text="Befund; jeder außer ok eröffnet das Widerrufsverfahren mit der Anhörung.",
    )
    notes = TextSerializerField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        help_text="Feststellungen; Pflicht bei einer Beanstandung.",
    )


class SaleReportInputSerializer(serializers.Serializer):
    sold_on = serializers.DateField(help_text="Tag der Veräußerung oder Umnutzung (JJJJ-MM-TT).")
    buyer = TextSerializerField(max_length=200, help_text="Erwerber/in oder die neue Nutzung.")
    buyer_continues = serializers.BooleanField(
        required=False, default=False, help_text="Die Erwerber/in übernimmt die Zweckbindung."
    )
    notes = TextSerializerField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, default="", allow_blank=True, help_text="Erläuterung."
    )


class RepaymentSerializer(serializers.Serializer):
    received_on = serializers.DateField(help_text="Tag des Eingangs (JJJJ-MM-TT).")
    amount = Money(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, help_text="Eingegangener Betrag in Euro.")


# --- documents and history ------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    einvoice = serializers.JSONField(
        read_only=True,
        help_text="Die aus einer E-Rechnung (ZUGFeRD/Factur-X, XRechnung) gelesenen Angaben: Nummer, Datum, "
        "Rechnungssteller, USt-IdNr., Positionen, Netto, USt, Brutto (Beträge als Zeichenketten); leer bei "
        "jeder anderen Unterlage.",
    )

    class Meta:
        model = Document
        fields = ["id", "kind", "original_name", "uploaded_at", "download_url", "einvoice"]
        read_only_fields = fields

    def get_download_url(self, document) -> str:
        return f"/api/applications/{document.application_id}/documents/{document.pk}/file/"


class DocumentUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Document.Kind.choices, help_text="Art der Unterlage.")
    file = serializers.FileField(
        help_text="PDF, JPEG oder PNG (geprüft am Inhalt, nicht am Namen), höchstens die Größe je Datei und je Antrag; "
        "Schlussrechnungen auch als E-Rechnung: ZUGFeRD/Factur-X-PDF oder XRechnung (XML)."
    )


class AppealSerializer(serializers.ModelSerializer):
    class Meta:
        model = Appeal
        fields = ["id", "kind", "court", "received_on", "grounds", "outcome", "decided_on", "decision_notes"]
        read_only_fields = fields


class NoticeSerializer(serializers.ModelSerializer):
    standing = serializers.SerializerMethodField(
        help_text="unsent (Versand nicht erfasst), open (Frist läuft), pending (Rechtsbehelf anhängig), "
        "set_aside (Rechtsbehelf stattgegeben), final (bestandskräftig)."
    )
    appeals = AppealSerializer(many=True, read_only=True)

    class Meta:
        model = Notice
        fields = [
            "sent_via", "sent_on", "deemed_days", "notified_on", "remedy_notice", "appeal_deadline", "waiver_on",
            "final_on", "standing", "appeals",
        ]  # fmt: skip
        read_only_fields = fields

    def get_standing(self, notice) -> str:
        return notice.standing


class LetterSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    notice = NoticeSerializer(
        read_only=True,
        allow_null=True,
        help_text="Bekanntgabe und Bestandskraft, bei Bescheiden mit Rechtsbehelf; sonst null.",
    )

    class Meta:
        model = Letter
        fields = ["id", "kind", "subject", "sha256", "corrects", "created_at", "download_url", "notice"]
        read_only_fields = fields

    def get_download_url(self, letter) -> str:
        return f"/api/applications/{letter.application_id}/letters/{letter.pk}/file/"


class HistoryEntrySerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField(help_text="Der Schritt, wie ihn die API nennt (z. B. check).")
    by = serializers.CharField(source="by.username", default=None, allow_null=True)
    comment = serializers.CharField(source="description", allow_null=True)

    class Meta:
        model = StateLog
        fields = ["id", "timestamp", "action", "source_state", "state", "by", "comment"]
        read_only_fields = fields

    def get_action(self, entry) -> str:
        return action_of(entry.transition)


class DeminimisRegisterEntrySerializer(serializers.Serializer):
    """One de-minimis grant with the fields the central register takes (grants.deminimis.register_row)."""

    id = serializers.IntegerField(source="pk", read_only=True)
    file_number = serializers.CharField(read_only=True)
    recipient = serializers.CharField(read_only=True, help_text="Empfänger: Organisation, sonst Name.")
    tax_number = serializers.CharField(read_only=True, help_text="Steuernummer oder USt-IdNr.; leer, wenn unbekannt.")
    register_number = serializers.CharField(read_only=True, help_text="Registernummer mit Registergericht.")
    amount = Money(read_only=True, help_text="Bruttosubventionsäquivalent in Euro, nach einem Widerruf berichtigt.")
    granted_on = serializers.DateField(read_only=True, help_text="Tag der Gewährung (der Bewilligung).")
    granting_authority = serializers.CharField(read_only=True)
    aid_instrument = serializers.CharField(read_only=True)
    sector = serializers.CharField(read_only=True, help_text="NACE-Code; leer, wenn unbekannt.")
    regulation = serializers.ChoiceField(choices=DeminimisRegulation.choices, read_only=True)
    corrected_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="Tag des Widerrufs, der den Betrag berichtigt hat; sonst null."
    )

    def to_representation(self, instance):
        return super().to_representation(SimpleNamespace(pk=instance.pk, **register_row(instance)))
