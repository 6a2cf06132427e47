"""REST endpoints for programmes and applications: reads through rules and selectors, writes through services."""

from __future__ import annotations

import django_filters
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from django_fsm_log.models import StateLog
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from applicants.models import Role
from applicants.rules import may_apply
from core.api import ID, FilterSet, IdFilter, NotFoundAlike
from core.errors import Code, DomainError
from core.parsers import JSONParser

from . import batches, commitment, deminimis, revocations, services
from .files import letter_response
from .models import Document, GrantApplication, Letter, LetterKind, Programme
from .rules import visible_applications, visible_programmes
from .selectors import application_history, applications_with_details, programmes_with_rules
from .serializers import (
    ApprovalBatchResultSerializer,
    ApprovalBatchSerializer,
    CertifyInvoiceSerializer,
    CertifyInvoicesSerializer,
    ChangeRequestInputSerializer,
    DeminimisRegisterEntrySerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    ExtensionRequestSerializer,
    GrantApplicationCreateSerializer,
    GrantApplicationSerializer,
    GrantApplicationUpdateSerializer,
    HearingAnswerSerializer,
    HistoryEntrySerializer,
    InspectionInputSerializer,
    InvoiceInputSerializer,
    LetterSerializer,
    ProgrammeSerializer,
    ProofOfUseInputSerializer,
    RepaymentSerializer,
    RevocationDecisionSerializer,
    RevocationOpenSerializer,
    SaleReportInputSerializer,
    TransitionSerializer,
    TransitionWithReasonSerializer,
    component_inputs,
)
from .steps import STEPS, TRANSITION_STEPS


class ProgrammeFilter(FilterSet):
    municipality = IdFilter(field_name="municipality")

    class Meta:
        model = Programme
        fields = ["municipality", "kind", "code"]


@extend_schema_view(
    list=extend_schema(
        summary="Förderprogramme", description="Staff see their municipalities' programmes; everyone else all."
    ),
    retrieve=extend_schema(summary="Ein Förderprogramm mit Richtlinie, Maßnahmen-Regeln und Fördergebiet"),
)
class ProgrammeViewSet(NotFoundAlike, viewsets.ReadOnlyModelViewSet):
    """Funding programmes with their guideline as data."""

    serializer_class = ProgrammeSerializer
    filterset_class = ProgrammeFilter
    ordering_fields = ["name", "code", "opens_on", "closes_on", "id"]
    ordering = ["name", "id"]
    lookup_value_regex = ID
    not_found_message = _("Förderprogramm nicht gefunden.")

    def get_queryset(self):
        return programmes_with_rules(visible_programmes(self.request.user))


class DeminimisRegisterFilter(FilterSet):
    granted_from = django_filters.DateFilter(field_name="approved_at", lookup_expr="date__gte", label="gewährt ab")
    granted_until = django_filters.DateFilter(field_name="approved_at", lookup_expr="date__lte", label="gewährt bis")
    municipality = IdFilter(field_name="programme__municipality")

    class Meta:
        model = GrantApplication
        fields = ["granted_from", "granted_until", "municipality"]


@extend_schema_view(
    list=extend_schema(
        summary="De-minimis-Register: die De-minimis-Beihilfen der eigenen Kommunen",
        description="Mit den Feldern für das Zentralregister, nach Tag der Gewährung; ein Widerruf berichtigt den "
        "Betrag (corrected_on). Nur für Mitarbeitende der Kommune.",
    ),
    retrieve=extend_schema(summary="Ein Eintrag des De-minimis-Registers (nach der Antrags-ID)"),
)
class DeminimisRegisterViewSet(NotFoundAlike, viewsets.ReadOnlyModelViewSet):
    """The de-minimis register of the user's municipalities (grants.deminimis.register_entries), read only."""

    serializer_class = DeminimisRegisterEntrySerializer
    filterset_class = DeminimisRegisterFilter
    ordering_fields = ["approved_at", "id"]
    ordering = ["approved_at", "id"]
    lookup_value_regex = ID
    not_found_message = _("Eintrag nicht gefunden.")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        decision = deminimis.may_read_register(request.user)
        if not decision:
            raise exceptions.PermissionDenied(decision.reason)

    def get_queryset(self):
        return deminimis.register_entries(self.request.user)


class ApplicationFilter(FilterSet):
    programme = IdFilter(field_name="programme")
    applicant = IdFilter(field_name="applicant")
    property = IdFilter(field_name="property")
    file_number = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = GrantApplication
        fields = ["state", "programme", "applicant", "property", "budget_year", "file_number"]


def _transition(name: str):
    """One POST endpoint per lifecycle step; the service decides who may, and when."""

    step = STEPS[name]
    body = TransitionWithReasonSerializer if step.comment_required else TransitionSerializer

    def endpoint(self, request, pk=None, format=None):  # format: the router's .json suffix routes
        given = body(data=request.data, context=self.get_serializer_context())
        if not given.is_valid():
            missing = {error.code for error in given.errors.get("comment", [])} <= {"required", "blank", "null"}
            if step.comment_required and set(given.errors) == {"comment"} and missing:
                raise DomainError(str(step.comment_required), code=Code.INVALID)  # the registry's words
            raise exceptions.ValidationError(given.errors)
        data = given.validated_data
        services.TRANSITIONS[name](application_id=int(pk), by=request.user, comment=data["comment"])
        return self._answer(pk)

    endpoint.__name__ = name
    help_text = STEPS[name].help
    # @action first: it replaces the function's kwargs, where extend_schema keeps its annotation.
    return extend_schema(
        summary=help_text.split(" (")[0],
        description=help_text,
        request=body,
        responses={200: GrantApplicationSerializer},
    )(action(detail=True, methods=["post"], url_path=name.replace("_", "-"))(endpoint))


# The endpoints of the registry's steps that take a comment only; certify_invoices has its own below.
TransitionActions = type("TransitionActions", (), {name: _transition(name) for name in services.TRANSITIONS})


@extend_schema_view(
    list=extend_schema(summary="Anträge", description="Owners see their own, staff their municipalities'."),
    retrieve=extend_schema(summary="Ein Antrag mit Maßnahmen, Kosten und Rechenweg"),
    create=extend_schema(
        summary="Antrag als Entwurf anlegen",
        description="Only applicants, for one of their own applicant profiles and a property they registered.",
        request=GrantApplicationCreateSerializer,
        responses={201: GrantApplicationSerializer},
    ),
    update=extend_schema(
        summary="Entwurf ändern",
        description="Only the owner, only while a draft (409 otherwise). `components` replaces all measures.",
        request=GrantApplicationUpdateSerializer,
        responses={200: GrantApplicationSerializer},
    ),
    partial_update=extend_schema(
        summary="Entwurf teilweise ändern",
        description="Only the owner, only while a draft (409 otherwise). `components` replaces all measures.",
        request=GrantApplicationUpdateSerializer,
        responses={200: GrantApplicationSerializer},
    ),
)
class ApplicationViewSet(
    NotFoundAlike,
    TransitionActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Grant applications: owners see their own, staff those of their municipalities; one POST per lifecycle step."""

    serializer_class = GrantApplicationSerializer
    filterset_class = ApplicationFilter
    ordering_fields = ["created_at", "submitted_at", "file_number", "computed_grant", "state", "id"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = ID
    not_found_message = _("Antrag nicht gefunden.")
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    error_statuses = {name: {409} for name in [*(s.name for s in TRANSITION_STEPS), "update", "partial_update"]}

    # Bodies with lists of measures and costs: JSON only; a form cannot carry them (its "components" were ignored).
    # The proof of use too: its files are uploaded before as documents, its body is JSON.
    json_only = {
        "create",
        "update",
        "partial_update",
        "certify_invoices",
        "request_change",
        "record_invoice",
        "submit_proof",
        "open_revocation",
        "answer_hearing",
        "decide_revocation",
        "book_repayment",
        "record_inspection",
        "report_sale",
    }

    def get_queryset(self):
        return applications_with_details(visible_applications(self.request.user))

    def get_parsers(self):
        if getattr(self, "action", None) in self.json_only:
            return [JSONParser()]
        return super().get_parsers()

    def initialize_request(self, request, *args, **kwargs):
        request = super().initialize_request(request, *args, **kwargs)
        request.parsers = self.get_parsers()  # DRF asks for them before it knows the action
        return request

    def _valid(self, serializer_class, data, **kwargs):
        serializer = serializer_class(data=data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, pk, status_code=status.HTTP_200_OK):
        application = applications_with_details(GrantApplication.objects.filter(pk=pk)).get()
        return Response(GrantApplicationSerializer(application).data, status=status_code)

    def create(self, request, format=None):
        decision = may_apply(request.user)
        if not decision:
            raise exceptions.PermissionDenied(decision.reason)
        data = self._valid(GrantApplicationCreateSerializer, request.data)
        application = services.application_create(
            programme=data["programme"],
            applicant=data["applicant"],
            property=data["property"],
            description=data["description"],
            works_started_on=data["works_started_on"],
            components=component_inputs(data["components"]),
            by=request.user,
        )
        return self._answer(application.pk, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False, format=None):
        data = self._valid(GrantApplicationUpdateSerializer, request.data, partial=partial)
        changes = dict(data)
        if "components" in changes:
            changes["components"] = component_inputs(changes["components"])
        services.application_update(application_id=int(pk), by=request.user, **changes)
        return self._answer(pk)

    def partial_update(self, request, pk=None, format=None):
        return self.update(request, pk, partial=True)

    @extend_schema(
        summary="Bewilligen im Stapel",
        description="Approver: queues the approval of many checked applications (202). Each is approved in the "
        "background in its own transaction, as far as the allocation carries it; one that it cannot carry stays "
        "checked with an internal note giving the reason. What is not possible at once (not visible, role, "
        "four-eyes, state) is listed under `refused`.",
        request=ApprovalBatchSerializer,
        responses={202: ApprovalBatchResultSerializer},
    )
    @action(detail=False, methods=["post"], url_path="approve-batch")
    def approve_batch(self, request, format=None):
        if not request.user.has_role(Role.APPROVER):
            raise exceptions.PermissionDenied(_("Ihre Rolle erlaubt diesen Schritt nicht."))
        data = self._valid(ApprovalBatchSerializer, request.data)
        queued, refused = batches.approval_batch_request(
            application_ids=data["applications"], by=request.user, comment=data["comment"]
        )
        return Response(
            {"queued": queued, "refused": [{"application": pk, "reasons": r} for pk, r in refused.items()]},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        summary="Fristverlängerung beantragen",
        description=STEPS["request_extension"].help,
        request=ExtensionRequestSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="request-extension")
    def request_extension(self, request, pk=None, format=None):
        data = self._valid(ExtensionRequestSerializer, request.data)
        services.extension_request(
            application_id=int(pk),
            by=request.user,
            completion_deadline=data["completion_deadline"],
            invoice_deadline=data["invoice_deadline"],
            reason=data["reason"],
        )
        return self._answer(pk)

    @extend_schema(
        summary="Änderungsantrag stellen",
        description=STEPS["request_change"].help
        + " Unterlagen dazu (z. B. ein neues Angebot) vorher als Dokument der Art „change“ hochladen.",
        request=ChangeRequestInputSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="request-change")
    def request_change(self, request, pk=None, format=None):
        data = self._valid(ChangeRequestInputSerializer, request.data)
        services.change_request(
            application_id=int(pk),
            by=request.user,
            components=component_inputs(data["components"]),
            completion_deadline=data["completion_deadline"],
            invoice_deadline=data["invoice_deadline"],
            reason=data["reason"],
        )
        return self._answer(pk)

    @extend_schema(
        summary="Eine Rechnung erfassen",
        description=STEPS["record_invoice"].help
        + " Die Rechnung ist vorher als Dokument der Art „invoice“ hochzuladen.",
        request=InvoiceInputSerializer,
        responses={201: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="record-invoice")
    def record_invoice(self, request, pk=None, format=None):
        serializer = InvoiceInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.invoice_record(
            application_id=int(pk),
            by=request.user,
            document_id=serializer.validated_data["document"],
            data=serializer.invoice_input(),
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Eine Rechnung prüfen",
        description=STEPS["certify_invoice"].help,
        request=CertifyInvoiceSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="certify-invoice")
    def certify_invoice(self, request, pk=None, format=None):
        data = self._valid(CertifyInvoiceSerializer, request.data)
        services.invoice_certify(
            application_id=int(pk),
            by=request.user,
            invoice_id=data["invoice"],
            eligible_amount=data["eligible_amount"],
            reason=data["reason"],
        )
        return self._answer(pk)

    @extend_schema(
        summary="Verwendungsnachweis einreichen",
        description=STEPS["submit_proof"].help
        + " Schlussrechnungen (auch als E-Rechnung) und Fotos vorher als Dokumente der Art „invoice“ und "
        "„photo_after“ hochladen; fehlt eines davon, antwortet der Endpunkt mit 400 und nennt es.",
        request=ProofOfUseInputSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="submit-proof")
    def submit_proof(self, request, pk=None, format=None):
        data = self._valid(ProofOfUseInputSerializer, request.data)
        services.proof_submit(
            application_id=int(pk), by=request.user, completed_on=data["completed_on"], report=data["report"]
        )
        return self._answer(pk)

    @extend_schema(
        summary="Widerrufsverfahren eröffnen",
        description=STEPS["open_revocation"].help,
        request=RevocationOpenSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="open-revocation")
    def open_revocation(self, request, pk=None, format=None):
        data = self._valid(RevocationOpenSerializer, request.data)
        revocations.revocation_open(application_id=int(pk), by=request.user, **data)
        return self._answer(pk)

    @extend_schema(
        summary="Sich in der Anhörung äußern",
        description=STEPS["answer_hearing"].help,
        request=HearingAnswerSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="answer-hearing")
    def answer_hearing(self, request, pk=None, format=None):
        data = self._valid(HearingAnswerSerializer, request.data)
        revocations.hearing_answer(application_id=int(pk), by=request.user, answer=data["answer"])
        return self._answer(pk)

    @extend_schema(
        summary="Über den Widerruf entscheiden",
        description=STEPS["decide_revocation"].help,
        request=RevocationDecisionSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="decide-revocation")
    def decide_revocation(self, request, pk=None, format=None):
        data = self._valid(RevocationDecisionSerializer, request.data)
        revocations.revocation_decide(application_id=int(pk), by=request.user, **data)
        return self._answer(pk)

    @extend_schema(
        summary="Vor-Ort-Kontrolle erfassen",
        description=STEPS["record_inspection"].help + " Fotos nimmt der Arbeitsplatz entgegen.",
        request=InspectionInputSerializer,
        responses={201: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="record-inspection")
    def record_inspection(self, request, pk=None, format=None):
        data = self._valid(InspectionInputSerializer, request.data)
        commitment.inspection_record(application_id=int(pk), by=request.user, **data)
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Veräußerung oder Umnutzung melden",
        description=STEPS["report_sale"].help,
        request=SaleReportInputSerializer,
        responses={201: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="report-sale")
    def report_sale(self, request, pk=None, format=None):
        data = self._valid(SaleReportInputSerializer, request.data)
        commitment.sale_report(application_id=int(pk), by=request.user, **data)
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rückzahlung buchen",
        description=STEPS["book_repayment"].help,
        request=RepaymentSerializer,
        responses={201: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="book-repayment")
    def book_repayment(self, request, pk=None, format=None):
        data = self._valid(RepaymentSerializer, request.data)
        revocations.repayment_book(application_id=int(pk), by=request.user, **data)
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Schlussrechnungen als sachlich richtig bestätigen",
        description=STEPS["certify_invoices"].help,
        request=CertifyInvoicesSerializer,
        responses={200: GrantApplicationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="certify-invoices")
    def certify_invoices(self, request, pk=None, format=None):
        data = self._valid(CertifyInvoicesSerializer, request.data)
        services.application_certify_invoices(
            application_id=int(pk),
            by=request.user,
            invoices=component_inputs(data["invoices"]) if "invoices" in data else None,
            comment=data["comment"],
        )
        return self._answer(pk)


APPLICATION_PK = OpenApiParameter("application_pk", int, OpenApiParameter.PATH, description="ID des Antrags")


class _OfVisibleApplication:
    # Nested lists: the application must be visible first, or the whole address is "not found".

    def application(self) -> GrantApplication:
        if not hasattr(self, "_application"):
            found = visible_applications(self.request.user).filter(pk=self.kwargs["application_pk"]).first()
            if found is None:
                raise exceptions.NotFound(_("Antrag nicht gefunden."))
            self._application = found
        return self._application


class DocumentFilter(FilterSet):
    class Meta:
        model = Document
        fields = ["kind"]


@extend_schema(parameters=[APPLICATION_PK])
@extend_schema_view(
    list=extend_schema(summary="Dokumente eines Antrags"),
    retrieve=extend_schema(summary="Ein Dokument eines Antrags"),
    create=extend_schema(
        summary="Eine Unterlage hochladen",
        description=(
            "multipart/form-data with `kind` and `file`. The owner hands in quotes, photos, land register extract "
            "and consent while the application is a draft, final invoices and after-photos once it is approved; "
            "staff of the municipality may add documents too. PDF, JPEG or PNG by content; limits per file and "
            "per application. 400 names the file and the reason; 409 when the state allows no upload."
        ),
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentSerializer},
    ),
)
class DocumentViewSet(_OfVisibleApplication, NotFoundAlike, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The files handed in with an application; visible to whoever may see the application."""

    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    ordering_fields = ["uploaded_at", "kind", "id"]
    ordering = ["uploaded_at", "id"]
    lookup_value_regex = ID
    not_found_message = _("Dokument nicht gefunden.")
    error_statuses = {"create": {409}}  # the state allows no upload of this kind now

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Document.objects.none()
        return Document.objects.filter(application=self.application())

    def create(self, request, application_pk=None, format=None):
        upload = DocumentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        document = services.document_upload(
            application_id=self.application().pk,
            by=request.user,
            kind=upload.validated_data["kind"],
            file=upload.validated_data["file"],
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Die Datei eines Dokuments herunterladen",
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"])
    def file(self, request, application_pk=None, pk=None, format=None):
        document = self.get_object()
        try:
            handle = document.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise exceptions.NotFound(_("Die Datei ist nicht mehr vorhanden.")) from None
        return FileResponse(
            handle, as_attachment=True, filename=document.original_name, content_type="application/octet-stream"
        )


class LetterFilter(FilterSet):
    kind = django_filters.ChoiceFilter(choices=LetterKind.choices)


@extend_schema(parameters=[APPLICATION_PK])
@extend_schema_view(
    list=extend_schema(summary="Schreiben eines Antrags (Bescheide, Bestätigungen), mit SHA-256"),
    retrieve=extend_schema(summary="Ein Schreiben eines Antrags"),
)
class LetterViewSet(_OfVisibleApplication, NotFoundAlike, viewsets.ReadOnlyModelViewSet):
    """The letters of an application as archived PDF/A: never changed, a correction is a new letter."""

    serializer_class = LetterSerializer
    filterset_class = LetterFilter
    ordering_fields = ["created_at", "kind", "id"]
    ordering = ["created_at", "id"]
    lookup_value_regex = ID
    not_found_message = _("Schreiben nicht gefunden.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Letter.objects.none()
        return (
            Letter.objects.filter(application=self.application())
            .select_related("notice")
            .prefetch_related("notice__appeals")
        )

    @extend_schema(
        summary="Das Schreiben als PDF herunterladen",
        description="The stored PDF/A; the header `X-Content-SHA256` carries the checksum recorded when it was made.",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"])
    def file(self, request, application_pk=None, pk=None, format=None):
        letter = self.get_object()
        if letter.file:  # the owner's first download of a notice is its retrieval (§ 41 (2a) VwVfG)
            services.notice_downloaded(letter_id=letter.pk, by=request.user)
        try:
            return letter_response(letter)
        except Http404 as missing:
            raise exceptions.NotFound(str(missing)) from None


class HistoryFilter(FilterSet):
    state = django_filters.ChoiceFilter(choices=GrantApplication.State.choices)


@extend_schema(parameters=[APPLICATION_PK])
@extend_schema_view(list=extend_schema(summary="Verlauf eines Antrags: wer, wann, von, nach, Kommentar"))
class HistoryViewSet(_OfVisibleApplication, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every logged step of an application: who, when, from which state to which, with the comment."""

    serializer_class = HistoryEntrySerializer
    filterset_class = HistoryFilter
    ordering_fields = ["timestamp", "id"]
    ordering = ["timestamp", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StateLog.objects.none()
        return application_history(self.application())
