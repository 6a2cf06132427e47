"""The owner portal: programmes, the funding-area check, applying step by step, following the case.

Views parse, call one service or selector, and render; every rule is in grants and applicants.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from applicants.models import Applicant
from applicants.services import applicant_save
from core.errors import Code, DomainError
from core.tenancy import may_use_portal
from grants import commitment, deminimis, revocations, services, waiting
from grants.files import document_response
from grants.labels import computation_rows, history_rows
from grants.models import Document, GrantApplication
from grants.personal_data import export_filename, personal_data_zip
from grants.rules import owner_steps
from grants.selectors import (
    grant_preview,
    missing_documents,
    open_programmes,
    owner_application,
    owner_applications,
    programmes_covering,
    return_message,
    returned_proof,
)
from grants.steps import NEXT_STEP

from .forms import (
    AddressCheckForm,
    ApplicantForm,
    ChangeForm,
    DeminimisDeclarationForm,
    ExtensionForm,
    HearingAnswerForm,
    InvoiceForm,
    MeasuresForm,
    ProofForm,
    PropertyForm,
    SaleReportForm,
    SubmitForm,
    UploadForm,
    WaiverForm,
    WithdrawForm,
)

State = GrantApplication.State
STEPS = [
    ("applicant", gettext_lazy("Antragsteller/in")),
    ("property", gettext_lazy("Grundstück")),
    ("measures", gettext_lazy("Maßnahme und Kosten")),
    ("documents", gettext_lazy("Unterlagen")),
    ("review", gettext_lazy("Angaben prüfen und einreichen")),
]
FRESH_DRAFT_NEXT_STEP = gettext_lazy("Vervollständigen Sie Ihren Antrag und reichen Sie ihn ein.")


def _posted(request):
    """The submitted data, or None on GET: an empty POST is a submitted form too (and refused)."""
    return request.POST if request.method == "POST" else None


def _limits() -> dict:
    return {"file": settings.PORTAL_UPLOAD_MAX_FILE_BYTES, "application": settings.PORTAL_UPLOAD_MAX_APPLICATION_BYTES}


def portal_view(view):
    """Logged-in owners only; staff are sent to the workspace (403), anonymous visitors log in first."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_use_portal(request.user):
            raise PermissionDenied(_("Mitarbeitende der Kommune bearbeiten Anträge im Arbeitsplatz."))
        return view(request, *args, **kwargs)

    return wrapper


def _own(user, pk: int) -> GrantApplication:
    try:
        return owner_application(user, pk)
    except GrantApplication.DoesNotExist:
        raise Http404(_("Antrag nicht gefunden.")) from None


def _steps(current: str, application: GrantApplication | None = None, programme=None) -> dict:
    number = [key for key, _label in STEPS].index(current) + 1
    return {
        "steps": STEPS,
        "step": current,
        "step_number": number,
        "step_count": len(STEPS),
        "application": application,
        "programme": programme or application.programme,
    }


def _refusal_response(request, refusal: DomainError, template: str, context: dict):
    if refusal.code == Code.NOT_FOUND:
        raise Http404(refusal.reasons[0])
    return render(request, template, {**context, "errors": refusal.reasons}, status=refusal.status)


def _next_or_later(request, application: GrantApplication, next_step: str):
    if "later" in request.POST:
        messages.success(request, _("Ihr Entwurf ist gespeichert. Sie können später hier weitermachen."))
        return redirect("portal:applications")
    return redirect(f"portal:step_{next_step}", pk=application.pk)


def _draft_or_case(request, application: GrantApplication):
    """A submitted application is no longer edited step by step: show its case page instead."""
    if application.state != State.DRAFT:
        messages.info(request, _("Dieser Antrag ist eingereicht und lässt sich nicht mehr ändern."))
        return redirect("portal:application", pk=application.pk)
    return None


# --- public pages -------------------------------------------------------------------------


def programmes(request):
    """Open programmes with their conditions, and the quick check "is my address in the funding area?"."""
    open_now = list(open_programmes(on=timezone.localdate()))
    form = AddressCheckForm(request.GET or None)
    covering = None
    if form.is_valid():
        covering = programmes_covering(open_now, **form.cleaned_data)
    return render(
        request,
        "portal/programmes.html",
        {"nav": "programmes", "programmes": open_now, "form": form, "covering": covering},
    )


# --- my applications ----------------------------------------------------------------------


@portal_view
def applications(request):
    rows = list(owner_applications(request.user))
    for application in rows:
        application.next_step = _next_step(application)
    return render(request, "portal/applications.html", {"nav": "applications", "applications": rows})


def _next_step(application: GrantApplication) -> str:
    if application.state == State.DRAFT and not application.file_number:
        return FRESH_DRAFT_NEXT_STEP
    return NEXT_STEP.get(application.state, "")


@portal_view
def application_detail(request, pk: int):
    application = _own(request.user, pk)
    return render(
        request,
        "portal/application_detail.html",
        {
            "nav": "applications",
            "application": application,
            "next_step": _next_step(application),
            "returned": return_message(application),
            "returned_proof": returned_proof(application),
            "history": history_rows(application),
            "computation": computation_rows(application.computation or {}),
            "documents": list(application.documents.all()),
            "letters": list(application.letters.all()),
            "may": owner_steps(request.user, application),
            "invoices_to_record": invoices_without_row(application),
            "reclaim": revocations.reclaim_summary(application),
            "waiting": waiting.place_of(application),
            "deminimis_declaration": deminimis.signed_declaration(application) if application.is_deminimis() else None,
        },
    )


# --- applying step by step ----------------------------------------------------------------


def _open_programme(pk: int):
    return get_object_or_404(open_programmes(on=timezone.localdate()), pk=pk)


@portal_view
def new_application(request, programme_id: int):
    """Step 1 of a new application: the owner's details, saved as their applicant record."""
    programme = _open_programme(programme_id)
    latest = Applicant.objects.filter(user=request.user).order_by("-pk").first()
    form = ApplicantForm(_posted(request), initial=ApplicantForm.initial_from(latest) or {"email": request.user.email})
    context = {**_steps("applicant", programme=programme), "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            applicant = applicant_save(
                by=request.user, data=form.data_input(), applicant_id=latest.pk if latest else None
            )
        except ValidationError as error:
            return render(request, "portal/step_applicant.html", {**context, "errors": error.messages}, status=400)
        url = reverse("portal:new_property", kwargs={"programme_id": programme.pk})
        return redirect(f"{url}?antragsteller={applicant.pk}")
    return render(request, "portal/step_applicant.html", context, status=400 if form.errors else 200)


@portal_view
def new_application_property(request, programme_id: int):
    """Step 2 of a new application: the property; from here on the draft exists and is resumable."""
    programme = _open_programme(programme_id)
    applicant = get_object_or_404(
        Applicant, pk=request.POST.get("antragsteller") or request.GET.get("antragsteller") or 0, user=request.user
    )
    form = PropertyForm(
        _posted(request),
        initial={
            "street": applicant.street,
            "house_number": applicant.house_number,
            "postcode": applicant.postcode,
            "city": applicant.city,
        },
    )
    context = {**_steps("property", programme=programme), "form": form, "applicant": applicant}
    if request.method == "POST" and form.is_valid():
        try:
            application = services.draft_start(
                programme_id=programme.pk, applicant_id=applicant.pk, property=form.data_input(), by=request.user
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/step_property.html", context)
        except ValidationError as error:
            return render(request, "portal/step_property.html", {**context, "errors": error.messages}, status=400)
        _warn_outside_area(request, application)
        return _next_or_later(request, application, "measures")
    return render(request, "portal/step_property.html", context, status=400 if form.errors else 200)


def _warn_outside_area(request, application: GrantApplication) -> None:
    prop = application.property
    if not application.programme.covers(prop.street, prop.house_number):
        messages.warning(
            request,
            _(
                "Die Adresse %(address)s liegt nach unseren Daten nicht im Fördergebiet. "
                "Sie können den Entwurf speichern, aber nicht einreichen; bitte prüfen Sie die Adresse."
            )
            % {"address": f"{prop.street} {prop.house_number}"},
        )


@portal_view
def step_applicant(request, pk: int):
    application = _own(request.user, pk)
    if response := _draft_or_case(request, application):
        return response
    form = ApplicantForm(_posted(request), initial=ApplicantForm.initial_from(application.applicant))
    context = {**_steps("applicant", application), "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            services.draft_update_applicant(application_id=application.pk, by=request.user, data=form.data_input())
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/step_applicant.html", context)
        except ValidationError as error:
            return render(request, "portal/step_applicant.html", {**context, "errors": error.messages}, status=400)
        return _next_or_later(request, application, "property")
    return render(request, "portal/step_applicant.html", context, status=400 if form.errors else 200)


@portal_view
def step_property(request, pk: int):
    application = _own(request.user, pk)
    if response := _draft_or_case(request, application):
        return response
    form = PropertyForm(_posted(request), initial=PropertyForm.initial_from(application.property))
    context = {**_steps("property", application), "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            application = services.draft_update_property(
                application_id=application.pk, by=request.user, data=form.data_input()
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/step_property.html", context)
        except ValidationError as error:
            return render(request, "portal/step_property.html", {**context, "errors": error.messages}, status=400)
        _warn_outside_area(request, application)
        return _next_or_later(request, application, "measures")
    return render(request, "portal/step_property.html", context, status=400 if form.errors else 200)


def _kinds(application: GrantApplication) -> list[str]:
    return [rule.component for rule in application.terms().component_rules.all()]


def _graded(application: GrantApplication) -> list[str]:
    """The measures whose per-m² caps the programme grades by building category: the owner says which applies."""
    return [rule.component for rule in application.terms().component_rules.all() if rule.graded_caps()]


@portal_view
def step_measures(request, pk: int):
    application = _own(request.user, pk)
    if response := _draft_or_case(request, application):
        return response
    form = MeasuresForm(
        _posted(request),
        kinds=_kinds(application),
        graded=_graded(application),
        initial=MeasuresForm.initial_from(application),
    )
    context = {
        **_steps("measures", application),
        "form": form,
        "computation": computation_rows(application.computation) if application.components.all() else [],
    }
    if request.method == "POST":
        if form.is_valid():
            try:
                services.application_update(
                    application_id=application.pk,
                    by=request.user,
                    components=form.components(),
                    description=form.cleaned_data["description"],
                    works_started_on=form.cleaned_data["works_started_on"],
                )
            except DomainError as refusal:
                return _refusal_response(request, refusal, "portal/step_measures.html", context)
            except ValidationError as error:
                return render(request, "portal/step_measures.html", {**context, "errors": error.messages}, status=400)
            return _next_or_later(request, application, "documents")
        context["computation"] = (
            computation_rows(grant_preview(application, form.components()).as_dict()) if form.is_valid() else []
        )
    return render(request, "portal/step_measures.html", context, status=400 if form.errors else 200)


@portal_view
@require_POST
def measures_preview(request, pk: int):
    """The grant the guideline would give for what is in the form now (htmx swaps it in place)."""
    application = _own(request.user, pk)
    form = MeasuresForm(request.POST, kinds=_kinds(application), graded=_graded(application))
    rows = computation_rows(grant_preview(application, form.components()).as_dict()) if form.is_valid() else []
    return render(request, "portal/_preview.html", {"computation": rows, "incomplete": not form.is_valid()})


def _upload(request, application: GrantApplication, kinds) -> tuple[UploadForm, list[Document], list[str]]:
    """Each file through the upload service on its own: a refused file keeps none of the others from being saved."""
    form = UploadForm(request.POST, request.FILES, kinds=kinds)
    saved, errors = [], []
    if form.is_valid():
        for upload in form.cleaned_data["files"]:
            try:
                saved.append(
                    services.document_upload(
                        application_id=application.pk, by=request.user, kind=form.cleaned_data["kind"], file=upload
                    )
                )
            except DomainError as refusal:
                if refusal.code == Code.NOT_FOUND:
                    raise Http404 from None
                errors += refusal.reasons
            except ValidationError as error:
                errors += error.messages
    if saved:
        messages.success(
            request,
            _("Gespeichert: %(names)s.") % {"names": ", ".join(d.original_name for d in saved)},
        )
    return form, saved, errors


@portal_view
def step_documents(request, pk: int):
    application = _own(request.user, pk)
    if response := _draft_or_case(request, application):
        return response
    kinds = owner_steps(request.user, application).upload_kinds
    form, errors = UploadForm(kinds=kinds), []
    if request.method == "POST" and "continue" in request.POST:
        return _next_or_later(request, application, "review")
    if request.method == "POST" and "later" in request.POST and not request.FILES:
        return _next_or_later(request, application, "review")
    if request.method == "POST":
        form, saved, errors = _upload(request, application, kinds)
        if not errors and not form.errors:
            return redirect("portal:step_documents", pk=application.pk)
        application = _own(request.user, pk)
    return render(
        request,
        "portal/step_documents.html",
        {
            **_steps("documents", application),
            "form": form,
            "errors": errors,
            "documents": list(application.documents.all()),
            "missing": missing_documents(application),
            "limits": _limits(),
        },
        status=400 if errors or form.errors else 200,
    )


@portal_view
def step_review(request, pk: int):
    application = _own(request.user, pk)
    if response := _draft_or_case(request, application):
        return response
    form = SubmitForm(_posted(request))
    context = {
        **_steps("review", application),
        "form": form,
        "problems": services.submission_problems(application, on=timezone.localdate()),
        "missing": missing_documents(application),
        "computation": computation_rows(application.computation or {}),
        "documents": list(application.documents.all()),
        "returned": return_message(application),
        "deminimis_declaration": deminimis.current_declaration(application) if application.is_deminimis() else None,
    }
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_submit(
                application_id=application.pk, by=request.user, comment=form.cleaned_data["comment"]
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/step_review.html", context)
        messages.success(
            request,
            _("Ihr Antrag ist eingereicht. Ihr Aktenzeichen lautet %(file)s.") % {"file": application.file_number},
        )
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/step_review.html", context, status=400 if form.errors else 200)


@portal_view
def deminimis_declaration(request, pk: int):
    """De-minimis-Erklärung on a draft of a de-minimis programme: signed with the submission, then fixed."""
    application = _own(request.user, pk)
    if response := _draft_or_case(request, application):
        return response
    if not application.is_deminimis():
        raise Http404(_("Die Zuschüsse dieses Programms sind keine De-minimis-Beihilfen."))
    declaration = deminimis.current_declaration(application)
    form = DeminimisDeclarationForm(_posted(request), initial=DeminimisDeclarationForm.initial_from(declaration))
    context = {
        **_steps("review", application),
        "form": form,
        "declaration": declaration,
        "regulation": application.programme.get_deminimis_regulation_display(),
        "ceiling": application.programme.deminimis_ceiling_in_force,
    }
    if request.method == "POST" and form.is_valid():
        try:
            deminimis.declaration_save(
                application_id=application.pk,
                by=request.user,
                none_received=form.cleaned_data["received"] == "no",
                aids=form.aids(),
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/deminimis_declaration.html", context)
        messages.success(request, _("Ihre De-minimis-Erklärung ist gespeichert; sie gilt mit der Einreichung."))
        return redirect("portal:step_review", pk=application.pk)
    return render(request, "portal/deminimis_declaration.html", context, status=400 if form.errors else 200)


# --- after submitting ---------------------------------------------------------------------


@portal_view
def withdraw(request, pk: int):
    application = _own(request.user, pk)
    if not owner_steps(request.user, application).withdraw:
        messages.info(request, _("Dieser Antrag lässt sich nicht mehr zurückziehen."))
        return redirect("portal:application", pk=application.pk)
    form = WithdrawForm(_posted(request))
    context = {"nav": "applications", "application": application, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            services.application_withdraw(
                application_id=application.pk, by=request.user, comment=form.cleaned_data["comment"]
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/withdraw.html", context)
        messages.success(request, _("Ihr Antrag ist zurückgezogen."))
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/withdraw.html", context, status=400 if form.errors else 200)


@portal_view
def request_extension(request, pk: int):
    """After approval: ask for later completion and invoice deadlines, with reasons."""
    application = _own(request.user, pk)
    if not owner_steps(request.user, application).request_extension:
        messages.info(
            request,
            _(
                "Eine Fristverlängerung können Sie nach der Bewilligung beantragen, bis die Schlussrechnung "
                "geprüft ist, und immer nur eine zugleich."
            ),
        )
        return redirect("portal:application", pk=application.pk)
    initial = {"completion_deadline": application.completion_deadline, "invoice_deadline": application.invoice_deadline}
    form = ExtensionForm(_posted(request), initial=initial)
    context = {"nav": "applications", "application": application, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            services.extension_request(application_id=application.pk, by=request.user, **form.cleaned_data)
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/request_extension.html", context)
        messages.success(request, _("Ihr Antrag auf Fristverlängerung ist eingegangen. Wir melden uns."))
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/request_extension.html", context, status=400 if form.errors else 200)


@portal_view
def request_change(request, pk: int):
    """After approval: ask to change the measures, costs, areas or deadlines, with reasons and documents."""
    application = _own(request.user, pk)
    if not owner_steps(request.user, application).request_change:
        messages.info(
            request,
            _(
                "Einen Änderungsantrag können Sie nach der Bewilligung stellen, bis die Schlussrechnung geprüft ist, "
                "und immer nur einen zugleich."
            ),
        )
        return redirect("portal:application", pk=application.pk)
    form = ChangeForm(
        _posted(request),
        request.FILES if request.method == "POST" else None,
        kinds=_kinds(application),
        graded=_graded(application),
        initial=ChangeForm.initial_from(application),
    )
    context = {"nav": "applications", "application": application, "form": form, "limits": _limits()}
    if request.method == "POST":
        if form.is_valid():
            try:
                services.change_request(
                    application_id=application.pk,
                    by=request.user,
                    components=form.components(),
                    completion_deadline=form.cleaned_data["completion_deadline"],
                    invoice_deadline=form.cleaned_data["invoice_deadline"],
                    reason=form.cleaned_data["reason"],
                    files=form.cleaned_data["files"],
                )
            except DomainError as refusal:
                return _refusal_response(request, refusal, "portal/request_change.html", context)
            except ValidationError as error:
                return render(request, "portal/request_change.html", {**context, "errors": error.messages}, status=400)
            messages.success(request, _("Ihr Änderungsantrag ist eingegangen. Wir prüfen ihn und melden uns."))
            return redirect("portal:application", pk=application.pk)
        context["computation"] = (
            computation_rows(grant_preview(application, form.components()).as_dict()) if form.is_valid() else []
        )
    return render(request, "portal/request_change.html", context, status=400 if form.errors else 200)


def invoices_without_row(application: GrantApplication) -> list[Document]:
    """The invoice files handed in whose invoice is not entered as a row yet."""
    return list(
        application.documents.filter(
            kind=Document.Kind.INVOICE, removed_at__isnull=True, invoice_record__isnull=True
        ).order_by("uploaded_at")
    )


@portal_view
def record_invoice(request, pk: int, document_id: int):
    """After approval: the details of one invoice handed in, prefilled from an e-invoice's XML."""
    application = _own(request.user, pk)
    document = get_object_or_404(
        Document, pk=document_id, application=application, kind=Document.Kind.INVOICE, removed_at__isnull=True
    )
    if not owner_steps(request.user, application).record_invoice or hasattr(document, "invoice_record"):
        messages.info(
            request, _("Diese Rechnung ist schon erfasst, oder es lassen sich keine Rechnungen mehr erfassen.")
        )
        return redirect("portal:application", pk=application.pk)
    measures = [(c.kind, c.get_kind_display()) for c in application.components.all()]
    prefill = services.einvoice_prefill(document)
    form = InvoiceForm(
        _posted(request),
        request.FILES if request.method == "POST" else None,
        measures=measures,
        initial=InvoiceForm.initial_from(prefill, measures),
    )
    context = {
        "nav": "applications",
        "application": application,
        "document": document,
        "form": form,
        "from_einvoice": bool(prefill),
    }
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_record(
                application_id=application.pk,
                by=request.user,
                document_id=document.pk,
                data=form.invoice_input(),
                payment_proof=form.cleaned_data["payment_proof"],
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/record_invoice.html", context)
        except ValidationError as error:
            return render(request, "portal/record_invoice.html", {**context, "errors": error.messages}, status=400)
        messages.success(request, _("Die Rechnung %(name)s ist erfasst.") % {"name": document.original_name})
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/record_invoice.html", context, status=400 if form.errors else 200)


@portal_view
def submit_proof(request, pk: int):
    """After the works: the proof of use in one step, a factual report with the invoices and the after-photos."""
    application = _own(request.user, pk)
    if not owner_steps(request.user, application).submit_proof:
        messages.info(
            request,
            _(
                "Den Verwendungsnachweis reichen Sie nach der Bewilligung ein, wenn die Arbeiten abgeschlossen sind, "
                "und bis die Schlussrechnung geprüft ist; einer, der geprüft wird oder anerkannt ist, genügt."
            ),
        )
        return redirect("portal:application", pk=application.pk)
    returned = returned_proof(application)
    form = ProofForm(
        _posted(request), request.FILES if request.method == "POST" else None, initial=ProofForm.initial_from(returned)
    )
    context = {
        "nav": "applications",
        "application": application,
        "form": form,
        "limits": _limits(),
        "returned": returned,
        "documents": [d for d in application.documents.all() if d.kind in services.PROOF_KINDS],
    }
    if request.method == "POST":
        if not form.is_valid():
            # The missing files too, at once: the form alone knows nothing of those already on the case.
            files = {name: len(request.FILES.getlist(name)) for name in ("invoices", "photos")}
            context["errors"] = services.proof_file_problems(application, **files)
            return render(request, "portal/submit_proof.html", context, status=400)
        try:
            services.proof_submit(
                application_id=application.pk,
                by=request.user,
                completed_on=form.cleaned_data["completed_on"],
                report=form.cleaned_data["report"],
                invoices=form.cleaned_data["invoices"],
                photos=form.cleaned_data["photos"],
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/submit_proof.html", context)
        except ValidationError as error:
            return render(request, "portal/submit_proof.html", {**context, "errors": error.messages}, status=400)
        messages.success(request, _("Ihr Verwendungsnachweis ist eingegangen. Wir prüfen ihn und melden uns."))
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/submit_proof.html", context)


@portal_view
def final_documents(request, pk: int):
    """After approval: hand in the final invoices and the photos after the works."""
    application = _own(request.user, pk)
    kinds = owner_steps(request.user, application).upload_kinds
    if application.state == State.DRAFT or not kinds:
        messages.info(request, _("Schlussrechnungen und Fotos können Sie nach der Bewilligung einreichen."))
        return redirect("portal:application", pk=application.pk)
    form, errors = UploadForm(kinds=kinds), []
    if request.method == "POST":
        form, saved, errors = _upload(request, application, kinds)
        if not errors and not form.errors:
            return redirect("portal:application", pk=application.pk)
    return render(
        request,
        "portal/final_documents.html",
        {"nav": "applications", "application": application, "form": form, "errors": errors, "limits": _limits()},
        status=400 if errors or form.errors else 200,
    )


@portal_view
def document_file(request, pk: int):
    """One of the owner's own documents, shown in the browser; anyone else's is not found."""
    document = get_object_or_404(Document.objects.select_related("application"), pk=pk)
    _own(request.user, document.application_id)
    return document_response(document)


@portal_view
def my_data(request):
    """Meine Daten herunterladen: the owner's Art. 15 export (account, profiles, cases, files) as a ZIP."""

    response = HttpResponse(personal_data_zip(user=request.user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(str(request.user.pk))}"'
    return response


@portal_view
def waive_appeal(request, pk: int, letter_id: int):
    """Rechtsbehelfsverzicht: the owner waives objection and lawsuit against one notice, confirmed; final today."""
    application = _own(request.user, pk)
    letter = next((mine for mine in application.letters.all() if mine.pk == letter_id), None)
    notice = getattr(letter, "notice", None) if letter is not None else None
    if notice is None:
        raise Http404(_("Bescheid nicht gefunden."))
    form = WaiverForm(_posted(request))
    context = {"nav": "applications", "application": application, "letter": letter, "notice": notice, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            services.notice_waive(application_id=application.pk, letter_id=letter.pk, by=request.user, confirmed=True)
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/waive_appeal.html", context)
        messages.success(request, _("Ihr Verzicht ist eingegangen; der Bescheid ist ab heute bestandskräftig."))
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/waive_appeal.html", context, status=400 if form.errors else 200)


@portal_view
def answer_hearing(request, pk: int):
    """The owner answers the hearing before a revocation, until the decision."""
    application = _own(request.user, pk)
    if not owner_steps(request.user, application).answer_hearing:
        messages.info(request, _("Zu diesem Antrag läuft keine Anhörung, zu der Sie sich noch äußern könnten."))
        return redirect("portal:application", pk=application.pk)
    form = HearingAnswerForm(_posted(request))
    context = {
        "nav": "applications",
        "application": application,
        "form": form,
        "revocation": application.open_revocation,
    }
    if request.method == "POST" and form.is_valid():
        try:
            revocations.hearing_answer(
                application_id=application.pk, by=request.user, answer=form.cleaned_data["answer"]
            )
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/answer_hearing.html", context)
        messages.success(request, _("Ihre Äußerung ist eingegangen; sie wird bei der Entscheidung berücksichtigt."))
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/answer_hearing.html", context, status=400 if form.errors else 200)


@portal_view
def report_sale(request, pk: int):
    """The owner reports a sale or change of use in the commitment period (a duty of the notice)."""
    application = _own(request.user, pk)
    if not owner_steps(request.user, application).report_sale:
        messages.info(request, _("Zu diesem Antrag kann jetzt keine Veräußerung gemeldet werden."))
        return redirect("portal:application", pk=application.pk)
    form = SaleReportForm(_posted(request))
    context = {"nav": "applications", "application": application, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            commitment.sale_report(application_id=application.pk, by=request.user, **form.cleaned_data)
        except DomainError as refusal:
            return _refusal_response(request, refusal, "portal/report_sale.html", context)
        messages.success(request, _("Ihre Meldung ist eingegangen; wir melden uns, wie es weitergeht."))
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/report_sale.html", context, status=400 if form.errors else 200)
