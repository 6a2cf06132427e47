"""Pages: the public home page and the caseworker workspace (Arbeitsplatz)."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applicants.models import Role
from applicants.rules import may_see_full_iban
from core.errors import Code, DomainError
from core.money import ZERO, format_amount
from core.views import workspace_view
from grants.batches import letter_batch_create

from . import commitment, deminimis, revocations, services, waiting
from .audit import KINDS, audit_history, audit_rows
from .exports import applications_workbook
from .files import document_response, letter_response
from .forms import (
    AppealDecisionForm,
    AppealForm,
    ApplicationFilterForm,
    CertifyInvoiceForm,
    CertifyInvoicesForm,
    CommitmentFilterForm,
    DeminimisReductionForm,
    DeminimisRegisterForm,
    ImportForm,
    InspectionForm,
    LinkConsultationForm,
    NoteForm,
    RebaseForm,
    RemedyDefectForm,
    RepaymentForm,
    RevocationDecisionForm,
    RevocationOpenForm,
    SendingForm,
    StepForm,
    WaiverForm,
)
from .imports import import_workbook, write_import_template
from .labels import computation_rows, history_rows
from .models import Appeal, CostItem, Document, GrantApplication, Letter, LetterBatch, Programme
from .personal_data import export_filename, personal_data_zip
from .rules import decide, may_manage_letters, visible_programmes, workspace_steps
from .selectors import (
    application_years,
    applications_waiting_for,
    budget_at_a_glance,
    commitment_cases,
    completeness_checklist,
    consultation_candidates,
    programmes_of,
    state_counts,
    workspace_application,
    workspace_applications,
)
from .services import find_consultation
from .steps import STEP_LABELS, STEPS

PAGE_SIZE = 25
State = GrantApplication.State


@login_required
def letter_download(request, pk: int):
    """Owners and staff of the case download its letters; anyone else gets 404.

    The owner's first download of a notice is kept: unsent, it counts as notified by retrieval (§ 41 (2a) VwVfG).
    """
    letter = get_object_or_404(Letter.objects.select_related("application__programme", "application__applicant"), pk=pk)
    if not decide(request.user, "view", letter.application):
        raise Http404
    if letter.file:
        services.notice_downloaded(letter_id=letter.pk, by=request.user)
    return letter_response(letter)


def notice_rows(user, application: GrantApplication) -> list[dict]:
    """The case's notices with their sending and finality, and what the user may record about each."""
    may = {action: decide(user, action, application).allowed for action in NOTICE_ACTIONS}
    rows = []
    for letter in application.letters.all():
        notice = getattr(letter, "notice", None)
        if notice is None:
            continue
        appeals = list(notice.appeals.all())
        pending = next((a for a in appeals if a.outcome == Appeal.Outcome.PENDING), None)
        undecided_or_granted = any(a.outcome in (Appeal.Outcome.PENDING, Appeal.Outcome.GRANTED) for a in appeals)
        open_to_appeal = notice.sent_on is not None and notice.waiver_on is None and not undecided_or_granted
        rows.append(
            {
                "letter": letter,
                "notice": notice,
                "appeals": appeals,
                "may_send": may["record_sending"] and notice.sent_on is None,
                "may_waive": may["record_waiver"] and open_to_appeal and notice.standing != "final",
                "may_mark_defect": may["record_remedy_defect"] and notice.remedy_notice,
                "may_appeal": may["record_appeal"] and open_to_appeal,
                "may_decide": may["decide_appeal"] and pending is not None,
                "pending": pending,
            }
        )
    return rows


NOTICE_ACTIONS = (
    "record_sending", "record_waiver", "record_remedy_defect", "record_appeal", "decide_appeal", "waive_appeal",
)  # fmt: skip


@login_required
def letter_batch_detail(request, pk: int):
    batch = get_object_or_404(LetterBatch, pk=pk, created_by=request.user)
    return render(request, "grants/letter_batch.html", {"batch": batch})


def _application_or_404(user, pk: int) -> GrantApplication:
    try:
        return workspace_application(user, pk)
    except GrantApplication.DoesNotExist:
        raise Http404(_("Antrag nicht gefunden.")) from None


def awaited_step(application: GrantApplication) -> str:
    """The step a case of the queue (grants.selectors.applications_waiting_for) waits for, in words."""
    return STEP_LABELS.get(application.awaited_step_name, "")


@workspace_view
def workspace_start(request):
    queue = applications_waiting_for(request.user)
    first = list(queue[:PAGE_SIZE])
    for application in first:
        application.awaited_step = awaited_step(application)
    return render(
        request,
        "workspace/start.html",
        {
            "nav": "start",
            "queue": first,
            "queue_total": queue.count() if len(first) == PAGE_SIZE else len(first),
            "counts": state_counts(request.user),
            "budgets": budget_at_a_glance(request.user, year=timezone.localdate().year),
            "year": timezone.localdate().year,
        },
    )


def _filtered(request):
    """The filter form of the application list and the applications it selects for the user."""
    form = ApplicationFilterForm(
        request.GET or None, programmes=programmes_of(request.user), years=application_years(request.user)
    )
    filters = form.filters() if request.GET else ApplicationFilterForm().filters()
    return form, filters, workspace_applications(request.user, **filters)


@workspace_view
def application_list(request):
    form, filters, applications = _filtered(request)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(
            applications_workbook(applications.iterator(chunk_size=2000)),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="antraege-{timezone.localdate():%Y-%m-%d}.xlsx"'
        return response
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "workspace/application_list.html",
        {
            "nav": "applications",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "sort": filters["sort"],
            "may_make_letters": may_manage_letters(request.user),
            "today": timezone.localdate(),
        },
    )


@workspace_view
@require_POST
def application_letters(request):
    """Make the missing letters of every filtered case (drafts have none) in the background, with progress."""
    if not may_manage_letters(request.user):
        raise PermissionDenied(_("Schreiben erzeugen Sachbearbeitung und Bewilligung."))
    _form, _filters, applications = _filtered(request)
    ids = list(applications.exclude(state=State.DRAFT).values_list("pk", flat=True))
    if not ids:
        messages.info(request, _("Die Auswahl enthält keinen eingereichten Antrag; es wurde nichts erzeugt."))
        return redirect(reverse("workspace:applications") + (f"?{request.GET.urlencode()}" if request.GET else ""))
    batch = letter_batch_create(application_ids=ids, by=request.user)
    return redirect("letter-batch", pk=batch.pk)


def _detail_context(request, application: GrantApplication, **extra) -> dict:
    steps = workspace_steps(request.user, application)
    may_link = application.state in (State.DRAFT, State.SUBMITTED) and decide(
        request.user, "link_consultation", application
    )
    components = list(application.components.all())
    for component in components:
        items = list(component.cost_items.all())
        component.quotes = [i for i in items if i.stage == CostItem.Stage.QUOTE]
        component.invoices = [i for i in items if i.stage == CostItem.Stage.INVOICE]
    return {
        "nav": "applications",
        "application": application,
        "components": components,
        "computation": computation_rows(application.computation or {}),
        "checklist": completeness_checklist(application) if application.state == State.SUBMITTED else None,
        "candidates": consultation_candidates(application)
        if may_link and find_consultation(application) is None
        else [],
        "history": history_rows(application),
        "steps": [(a, STEP_LABELS[a], bool(STEPS[a].comment_required)) for a in steps.allowed if not STEPS[a].own_form],
        "may_certify": "certify_invoices" in steps.allowed,
        "may_certify_invoice": "certify_invoice" in steps.allowed,
        "may_open_revocation": "open_revocation" in steps.allowed,
        "may_decide_revocation": "decide_revocation" in steps.allowed,
        "may_book_repayment": "book_repayment" in steps.allowed,
        "may_record_inspection": "record_inspection" in steps.allowed,
        "full_iban": may_see_full_iban(request.user),
        "commitment_year": commitment.year_of_period(application, timezone.localdate()),
        "reclaim": revocations.reclaim_summary(application),
        "repayment_form": RepaymentForm(initial={"received_on": timezone.localdate()}),
        "refused_steps": [(STEP_LABELS[a], reason) for a, reason in steps.refused],
        "terms": application.terms(),
        "rebase_to": services.rebase_target(application)
        if decide(request.user, "rebase", application).allowed
        else None,
        "deminimis": _deminimis_context(request.user, application),
        "may_note": decide(request.user, "note", application).allowed,
        "may_export_personal_data": decide(request.user, "export_personal_data", application).allowed,
        "note_form": NoteForm(),
        "notices": notice_rows(request.user, application),
        "sending_form": SendingForm(initial={"sent_on": timezone.localdate()}),
        "waiver_form": WaiverForm(),
        "remedy_defect_form": RemedyDefectForm(),
        "appeal_form": AppealForm(
            initial={
                "kind": Appeal.Kind.OBJECTION
                if application.programme.municipality.objection_procedure
                else Appeal.Kind.LAWSUIT
            }
        ),
        "decision_form": AppealDecisionForm(),
        **extra,
    }


@workspace_view
def application_detail(request, pk: int):
    application = _application_or_404(request.user, pk)
    return render(request, "workspace/application_detail.html", _detail_context(request, application))


def _deminimis_context(user, application: GrantApplication) -> dict | None:
    """The case page's de-minimis section: the declaration, where the undertaking stands, the reduction."""
    if not application.is_deminimis():
        return None
    declaration = deminimis.signed_declaration(application)
    result = None
    if application.state in services.PENDING_STATES:
        with contextlib.suppress(DomainError):
            result = deminimis.position(application, granted_on=timezone.localdate())
    grant = application.grant_due()
    exceeded = result is not None and result.exceeded_by(grant)
    return {
        "declaration": declaration,
        "position": result,
        "grant": grant,
        "exceeded": exceeded,
        "may_reduce": exceeded
        and application.state == GrantApplication.State.SUBMITTED
        and decide(user, "deminimis_reduce", application).allowed,
    }


def _form_refusal(form) -> DomainError:
    """What was wrong with a posted form, shown like a refused step (400), so nothing typed is silently dropped."""
    return DomainError([e for errors in form.errors.values() for e in errors], code=Code.INVALID)


def _refused(request, application: GrantApplication, refusal: DomainError, status=None):
    """Show a refused step on the application page with its reasons, in the status its code stands for."""
    if refusal.code == Code.NOT_FOUND:
        raise Http404(refusal.reasons[0])
    status = status or refusal.status
    application = _application_or_404(request.user, application.pk)
    return render(
        request,
        "workspace/application_detail.html",
        _detail_context(request, application, errors=refusal.reasons),
        status=status,
    )


@workspace_view
@require_POST
def application_step(request, pk: int, action: str):
    application = _application_or_404(request.user, pk)
    if action not in services.TRANSITIONS or not STEPS[action].staff:
        raise Http404
    form = StepForm(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    comment = form.cleaned_data["comment"]
    try:
        services.TRANSITIONS[action](application_id=application.pk, by=request.user, comment=comment)
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(request, _("Erledigt: %(step)s.") % {"step": STEP_LABELS[action]})
    return redirect("workspace:application", pk=application.pk)


@workspace_view
def application_certify(request, pk: int):
    application = _application_or_404(request.user, pk)
    if "certify_invoices" not in workspace_steps(request.user, application).allowed:
        decision = decide(request.user, "certify_invoices", application)
        raise PermissionDenied(
            decision.reason
            or _("Im Status „%(state)s“ ist dieser Schritt nicht möglich.") % {"state": application.get_state_display()}
        )
    components = list(application.components.all())
    # The invoice rows, each certified, are the actual costs: the form starts from their eligible sums.
    initial = {}
    for measure in services.invoice_costs(application.invoices.filter(certified_at__isnull=False)):
        initial[f"net_{measure.kind}"] = format_amount(sum((c.net_amount for c in measure.costs), Decimal("0")))
        initial[f"vat_{measure.kind}"] = format_amount(sum((c.vat_amount for c in measure.costs), Decimal("0")))
    form = CertifyInvoicesForm(request.POST or None, components=components, initial=initial)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.application_certify_invoices(
                application_id=application.pk,
                by=request.user,
                invoices=form.invoices(),
                comment=form.cleaned_data["comment"],
            )
        except DomainError as refusal:
            errors = refusal.reasons
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, _("Die Schlussrechnung ist als sachlich richtig bestätigt."))
            return redirect("workspace:application", pk=application.pk)
    invoices = [d for d in application.documents.all() if d.kind == Document.Kind.INVOICE]
    return render(
        request,
        "workspace/certify.html",
        {"nav": "applications", "application": application, "form": form, "errors": errors, "invoices": invoices},
        status=400 if request.method == "POST" else 200,
    )


@workspace_view
@require_POST
def application_certify_invoice(request, pk: int, invoice_id: int):
    """Sachlich richtig for one invoice: its eligible net amount, with the reason for any cut."""
    application = _application_or_404(request.user, pk)
    form = CertifyInvoiceForm(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    try:
        invoice = services.invoice_certify(
            application_id=application.pk,
            by=request.user,
            invoice_id=invoice_id,
            eligible_amount=form.cleaned_data["eligible_amount"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(request, _("Geprüft: %(invoice)s.") % {"invoice": invoice})
    return redirect("workspace:application", pk=application.pk)


@workspace_view
@require_POST
def application_note(request, pk: int):
    application = _application_or_404(request.user, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    try:
        services.note_add(application_id=application.pk, by=request.user, text=form.cleaned_data["text"])
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(request, _("Der Vermerk ist gespeichert."))
    return redirect(reverse("workspace:application", kwargs={"pk": application.pk}) + "#vermerke")


@workspace_view
@require_POST
def application_link_consultation(request, pk: int):
    application = _application_or_404(request.user, pk)
    form = LinkConsultationForm(request.POST)
    if not form.is_valid():
        raise Http404
    try:
        services.application_link_consultation(
            application_id=application.pk, consultation_id=form.cleaned_data["consultation"], by=request.user
        )
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(request, _("Die Erstberatung ist dem Antrag zugeordnet."))
    return redirect("workspace:application", pk=application.pk)


@workspace_view
@require_POST
def application_rebase(request, pk: int):
    """Re-base a pending case on the programme's newer guideline version, with the reason (grants.services)."""
    application = _application_or_404(request.user, pk)
    form = RebaseForm(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    try:
        application = services.application_rebase(
            application_id=application.pk, by=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(
        request,
        _("Der Antrag ist auf Fassung %(number)s der Förderrichtlinie umgestellt.")
        % {"number": application.guideline_version.number},
    )
    return redirect("workspace:application", pk=application.pk)


@workspace_view
def document_file(request, pk: int):
    """A document shown in the browser (preview) for staff who may see its application."""
    document = Document.objects.select_related("application").filter(pk=pk).first()
    if document is None:
        raise Http404
    _application_or_404(request.user, document.application_id)
    return document_response(document)


@workspace_view
def legacy_import(request):
    """Altfälle aus Excel übernehmen (caseworkers): one run, all or nothing unless valid rows only; a row report."""

    if not request.user.has_role(Role.CASEWORKER):
        raise PermissionDenied(_("Altfälle übernimmt die Sachbearbeitung."))
    programmes = Programme.objects.filter(municipality__in=request.user.municipality_ids).order_by("name")
    form = ImportForm(request.POST or None, request.FILES or None, programmes=programmes)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = import_workbook(
                programme_id=form.cleaned_data["programme"].pk,
                file=form.cleaned_data["workbook"],
                by=request.user,
                valid_only=form.cleaned_data["valid_only"],
            )
        except DomainError as refusal:
            raise Http404 if refusal.code == Code.NOT_FOUND else PermissionDenied(" ".join(refusal.reasons)) from None
    return render(request, "workspace/import.html", {"nav": "applications", "form": form, "report": report})


@workspace_view
def legacy_import_template(request):
    from io import BytesIO

    out = BytesIO()
    write_import_template(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="altfaelle-vorlage.xlsx"'
    return response


@workspace_view
def application_personal_data(request, pk: int):
    """Auskunft nach Art. 15 DSGVO about the case's applicant: only what the municipality's cases hold."""

    application = _application_or_404(request.user, pk)
    decision = decide(request.user, "export_personal_data", application)
    if not decision:
        raise PermissionDenied(decision.reason)
    content = personal_data_zip(applicant=application.applicant, municipality_ids=request.user.municipality_ids)
    response = HttpResponse(content, content_type="application/zip")
    filename = export_filename(f"antragsteller-{application.applicant_id}")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


AUDIT_PAGE_SIZE = 25


@workspace_view
def audit_log(request):
    """Änderungsprotokoll: changes of applications, programmes, allocations, roles and staff, who and when."""

    kind = KINDS.get(request.GET.get("art", ""), KINDS["antraege"])
    application_id = request.GET.get("antrag", "")
    application_id = int(application_id) if application_id.isdigit() and len(application_id) < 19 else None
    records = audit_history(request.user, kind, application_id=application_id if kind.key == "antraege" else None)
    page = Paginator(records, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workspace/audit_log.html",
        {
            "nav": "audit",
            "kinds": KINDS.values(),
            "kind": kind,
            "application_id": application_id if kind.key == "antraege" else None,
            "page": page,
            "rows": audit_rows(kind, list(page.object_list)),
            "query": query.urlencode(),
        },
    )


# --- notices: sending, waiver, objection or lawsuit --------------------------------------------


def _notice_write(request, pk: int, form_class, write, done: str):
    """A posted form about one notice of the case: the service's refusal shown on the case page, else back to it."""
    application = _application_or_404(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    try:
        write(application, form.cleaned_data)
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(request, done)
    return redirect(reverse("workspace:application", kwargs={"pk": application.pk}) + "#letters-heading")


@workspace_view
@require_POST
def notice_sending(request, pk: int, letter_id: int):
    return _notice_write(
        request,
        pk,
        SendingForm,
        lambda application, data: services.notice_record_sending(
            application_id=application.pk, letter_id=letter_id, by=request.user, sent_on=data["sent_on"]
        ),
        _("Der Versand ist erfasst."),
    )


@workspace_view
@require_POST
def notice_waiver(request, pk: int, letter_id: int):
    return _notice_write(
        request,
        pk,
        WaiverForm,
        lambda application, data: services.notice_record_waiver(
            application_id=application.pk, letter_id=letter_id, by=request.user, received_on=data["received_on"]
        ),
        _("Der Rechtsbehelfsverzicht ist erfasst."),
    )


@workspace_view
@require_POST
def notice_remedy_defect(request, pk: int, letter_id: int):
    return _notice_write(
        request,
        pk,
        RemedyDefectForm,
        lambda application, data: services.notice_record_remedy_defect(
            application_id=application.pk, letter_id=letter_id, by=request.user, defect=data["defect"]
        ),
        _("Erfasst: Die Rechtsbehelfsbelehrung ist unrichtig; es gilt die Jahresfrist."),
    )


@workspace_view
@require_POST
def appeal_new(request, pk: int, letter_id: int):
    return _notice_write(
        request,
        pk,
        AppealForm,
        lambda application, data: services.appeal_record(
            application_id=application.pk, letter_id=letter_id, by=request.user, **data
        ),
        _("Der Rechtsbehelf ist erfasst."),
    )


@workspace_view
@require_POST
def appeal_decision(request, pk: int, appeal_id: int):
    return _notice_write(
        request,
        pk,
        AppealDecisionForm,
        lambda application, data: services.appeal_decide(
            application_id=application.pk, appeal_id=appeal_id, by=request.user, **data
        ),
        _("Die Entscheidung über den Rechtsbehelf ist erfasst."),
    )


# --- revocation (Widerruf, Rücknahme) and reclaim ---------------------------------------------------------


def _revocation_form_page(request, pk: int, action: str, form_class, *, initial: dict, write, page: dict):
    """A revocation step's own page: its form, the service's refusal on it (400) or on the case page (403/409)."""
    application = _application_or_404(request.user, pk)
    try:
        revocations.ensure_may(request.user, action, application)
    except DomainError as refusal:
        return _refused(request, application, refusal)
    form = form_class(request.POST or None, request.FILES or None, initial=initial)
    errors: list[str] = []
    if request.method == "POST":
        if form.is_valid():
            try:
                write(application, form.cleaned_data)
            except DomainError as refusal:
                if refusal.code != Code.INVALID:
                    return _refused(request, application, refusal)
                errors = refusal.reasons
            else:
                messages.success(request, page["done"])
                return redirect(
                    reverse("workspace:application", kwargs={"pk": application.pk})
                    + page.get("anchor", "#revocations-heading")
                )
        else:
            errors = _form_refusal(form).reasons
    return render(
        request,
        "workspace/revocation.html",
        {"nav": "applications", "application": application, "form": form, "errors": errors, **page},
        status=400 if errors else 200,
    )


def _revocation_initial(user, pk: int, today) -> dict:
    """The revocation form starts from the owner's report of a sale, where one waits (grants.commitment)."""
    initial: dict = {"hearing_deadline": revocations.hearing_default(today)}
    sale = commitment.revocation_from_sale(_application_or_404(user, pk), today)
    if sale:
        initial.update(sale, intended_amount=format_amount(sale["intended_amount"]))
    return initial


@workspace_view
def revocation_new(request, pk: int):
    today = timezone.localdate()
    return _revocation_form_page(
        request,
        pk,
        "open_revocation",
        RevocationOpenForm,
        initial=_revocation_initial(request.user, pk, today),
        write=lambda application, data: revocations.revocation_open(
            application_id=application.pk, by=request.user, **data
        ),
        page={
            "title": _("Widerrufsverfahren eröffnen"),
            "intro": _(
                "Die Antragsteller/in erhält ein Anhörungsschreiben (§ 28 VwVfG) mit dem Sachverhalt und der Frist und "
                "kann sich im Portal äußern. Entscheiden muss danach eine andere Person."
            ),
            "legend": _("Grund, Sachverhalt und Frist"),
            "submit": _("Anhörung einleiten"),
            "done": _("Das Widerrufsverfahren ist eröffnet; das Anhörungsschreiben geht an die Antragsteller/in."),
        },
    )


@workspace_view
def revocation_decision(request, pk: int):
    application = _application_or_404(request.user, pk)
    revocation = application.open_revocation
    today = timezone.localdate()
    return _revocation_form_page(
        request,
        pk,
        "decide_revocation",
        RevocationDecisionForm,
        initial={
            "outcome": "revoked",
            "revoked_amount": format_amount(revocation.intended_amount) if revocation else "",
            "effective_from": today,
            "due_on": revocations.due_default(today),
        },
        write=lambda application, data: revocations.revocation_decide(
            application_id=application.pk, by=request.user, **data
        ),
        page={
            "title": _("Über den Widerruf entscheiden"),
            "intro": _(
                "Die Zuwendung sinkt um den aufgehobenen Betrag; was darüber hinaus ausgezahlt ist, ist zu erstatten "
                "und ab dem Tag der Unwirksamkeit, frühestens ab der Auszahlung, zu verzinsen (§ 49a VwVfG). Der "
                "Bescheid geht mit Begründung und Rechtsbehelfsbelehrung an die Antragsteller/in."
            ),
            "legend": _("Entscheidung"),
            "submit": _("Bescheid erlassen"),
            "done": _("Die Entscheidung ist erfasst; der Bescheid geht an die Antragsteller/in."),
            "revocation": revocation,
        },
    )


@workspace_view
@require_POST
def repayment_new(request, pk: int):
    application = _application_or_404(request.user, pk)
    form = RepaymentForm(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    try:
        repayment = revocations.repayment_book(application_id=application.pk, by=request.user, **form.cleaned_data)
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(
        request,
        _("Die Rückzahlung ist gebucht: %(interest)s € auf die Zinsen, %(principal)s € auf die Hauptforderung.")
        % {"interest": format_amount(repayment.interest_part), "principal": format_amount(repayment.principal_part)},
    )
    return redirect(reverse("workspace:application", kwargs={"pk": application.pk}) + "#revocations-heading")


# --- the commitment period (Zweckbindung) ------------------------------------------------------------------


@workspace_view
def inspection_new(request, pk: int):
    return _revocation_form_page(
        request,
        pk,
        "record_inspection",
        InspectionForm,
        initial={"inspected_on": timezone.localdate(), "finding": "ok"},
        write=lambda application, data: commitment.inspection_record(
            application_id=application.pk, by=request.user, **data
        ),
        page={
            "title": _("Vor-Ort-Kontrolle erfassen"),
            "intro": _(
                "Ohne Beanstandung wird die Kontrolle nur erfasst. Eine Beanstandung eröffnet das Widerrufsverfahren: "
                "Die Antragsteller/in erhält das Anhörungsschreiben mit den Feststellungen; beabsichtigt ist der Teil "
                "des Zuschusses für die restliche Zweckbindungsfrist."
            ),
            "legend": _("Befund"),
            "submit": _("Kontrolle erfassen"),
            "done": _("Die Vor-Ort-Kontrolle ist erfasst."),
            "anchor": "#commitment-heading",
        },
    )


@workspace_view
def commitment_list(request):
    """The cases in their commitment period (and after it), with filters, the last inspection and a reported sale."""
    today = timezone.localdate()
    form = CommitmentFilterForm(request.GET or None, programmes=programmes_of(request.user))
    filters = form.filters() if request.GET else CommitmentFilterForm.defaults()
    cases = commitment_cases(request.user, today=today, **filters)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workspace/commitment_list.html",
        {"nav": "commitment", "form": form, "page": page, "query": query.urlencode(), "today": today},
    )


@workspace_view
def waiting_list(request):
    """Warteliste: each programme's checked cases in the order they were found complete, and what the money carries."""
    programmes = list(visible_programmes(request.user).select_related("municipality").order_by("name"))
    lists = []
    for programme in programmes:
        available = waiting.available_now(programme.pk)
        places = waiting.queue(programme.pk, available=available or ZERO)
        if places or available is not None:
            lists.append({"programme": programme, "available": available, "places": places})
    return render(
        request,
        "workspace/waiting_list.html",
        {"nav": "waiting", "lists": lists, "may_approve": request.user.has_role(Role.APPROVER)},
    )


@workspace_view
@require_POST
def application_deminimis_reduce(request, pk: int):
    """Reduce a de-minimis case's grant to what the ceiling leaves, with the reason (grants.deminimis)."""
    application = _application_or_404(request.user, pk)
    form = DeminimisReductionForm(request.POST)
    if not form.is_valid():
        return _refused(request, application, _form_refusal(form))
    try:
        application = deminimis.deminimis_reduce(
            application_id=application.pk, by=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as refusal:
        return _refused(request, application, refusal)
    messages.success(
        request,
        _("Der Zuschuss ist wegen des De-minimis-Höchstbetrags auf %(amount)s € gekürzt.")
        % {"amount": format_amount(application.deminimis_reduced_to)},
    )
    return redirect("workspace:application", pk=application.pk)


def _register_request(request):
    decision = deminimis.may_read_register(request.user)
    if not decision:
        raise PermissionDenied(decision.reason)
    municipalities = request.user.municipalities.order_by("name")
    form = DeminimisRegisterForm(request.GET or None, municipalities=municipalities)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = deminimis.register_entries(
        request.user,
        granted_from=filters.get("granted_from"),
        granted_until=filters.get("granted_until"),
        municipality_id=filters.get("municipality"),
    )
    return form, filters, entries


@workspace_view
def deminimis_register(request):
    """De-minimis-Register: the municipality's de-minimis grants of a period, to download as CSV or XML."""
    form, _filters, entries = _register_request(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workspace/deminimis_register.html",
        {
            "nav": "deminimis",
            "form": form,
            "page": page,
            "rows": [deminimis.register_row(entry) | {"pk": entry.pk} for entry in page],
            "query": query.urlencode(),
        },
    )


@workspace_view
def deminimis_register_file(request, kind: str):
    """The register of the period as CSV (German spreadsheets) or XML."""
    form, filters, entries = _register_request(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(" ".join(e for errors in form.errors.values() for e in errors), status=400)
    stamp = timezone.localdate().strftime("%Y%m%d")
    if kind == "csv":
        response = HttpResponse(deminimis.register_csv(entries), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            deminimis.register_xml(
                entries, granted_from=filters.get("granted_from"), granted_until=filters.get("granted_until")
            ),
            content_type="application/xml; charset=utf-8",
        )
    response["Content-Disposition"] = f'attachment; filename="de-minimis-register-{stamp}.{kind}"'
    return response
