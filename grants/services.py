"""The lifecycle of an application: each transition in one transaction with its ledger and log.

Every service locks the application, asks grants.rules who may act, checks the
transition's conditions, books the ledger, calls the django-fsm transition (which
logs who, when, from, to and the comment through django-fsm-log) and saves. A refused
transition raises ``DomainError`` and changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import cast
from uuid import uuid4

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Length
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm_log.models import StateLog

from applicants.models import Applicant, Consultation, Property, User
from applicants.services import ApplicantInput, PropertyInput, applicant_save, property_find_or_create
from budgets.selectors import allocation_balance
from budgets.services import BudgetError, allocation_for_update, ledger_commit, ledger_pay, ledger_release
from core.errors import Code, DomainError
from core.money import format_amount
from core.tasks import enqueue_on_commit

from . import deminimis, finality
from .calculator import BuildingCategory
from .einvoices import einvoice_as_dict, einvoice_in_pdf, read_einvoice_xml
from .models import (
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    GUIDELINE_TERMS,
    Appeal,
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    FrozenGuideline,
    FundingAreaStreet,
    GrantApplication,
    GuidelineVersion,
    InternalNote,
    Invoice,
    MeasureComponent,
    Notice,
    OwnerRequest,
    PartialPayment,
    Programme,
    ProgrammeComponentRule,
    ProofOfUse,
    frozen_message,
)
from .notices import mark_sent, notice_refresh, state_of
from .rules import decide, is_owner, upload_kinds
from .selectors import checklist_problems, completeness_checklist, find_consultation, funding_area_check
from .steps import STEPS, TRANSITION_STEPS, possible_in_state, take, unmet_conditions
from .tasks import notify_transition
from .uploads import PDF, XML, content_type_of, named_for
from .waiting import order_problem, tell_owner_if_waiting

logger = logging.getLogger(__name__)
State = GrantApplication.State


def today() -> date:
    return timezone.localdate()


def _lock(application_id: int) -> GrantApplication:
    try:
        return (
            GrantApplication.objects.select_for_update(of=("self",))
            .select_related(
                "programme__municipality", "programme__current_version", "guideline_version", "applicant", "property"
            )
            .get(pk=application_id)
        )
    except GrantApplication.DoesNotExist:
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND) from None


def _ensure_allowed(by: User, action: str, application: GrantApplication) -> None:
    if not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    decision = decide(by, action, application)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    step = STEPS[action]
    if step.transition is None:
        return
    if not possible_in_state(step, application):
        if application.state in step.targets:
            # A double click or a replayed request: the first one went through, this one changes nothing.
            raise DomainError(
                _("Dieser Schritt ist schon erledigt: Der Antrag ist bereits „%(state)s“.")
                % {"state": application.get_state_display()}
            )
        raise DomainError(
            str(step.not_now)
            or _("Im Status „%(state)s“ ist dieser Schritt nicht möglich.") % {"state": application.get_state_display()}
        )
    unmet = unmet_conditions(step, application)
    if unmet:
        raise DomainError(unmet)


def _require_comment(comment: str, message: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise DomainError(message, code=Code.INVALID)
    return comment


def _run(
    application: GrantApplication, action: str, *, by: User, comment: str, then: dict | None = None
) -> GrantApplication:
    """Take the step's transition (a required comment first) and save; queue its letter and e-mail, if any.

    ``then``: fields set after the transition, where they are what its condition looks at (an open request).
    """
    step = STEPS[action]
    if step.comment_required:
        comment = _require_comment(comment, str(step.comment_required))
    take(step, application, by=by, comment=comment)
    for field, value in (then or {}).items():
        setattr(application, field, value)
    application.save()
    if step.notifies:
        log_id = StateLog.objects.for_(application).order_by("-pk").values_list("pk", flat=True).first()
        # Letters and e-mail leave the database: only once the transition has committed.
        enqueue_on_commit(notify_transition, state_log_id=log_id)
    return application


# The one service of each step of the registry (grants.steps), by the step's name.
SERVICES: dict[str, Callable[..., GrantApplication]] = {}


def _serves(action: str):
    """Register the decorated function as the service of the registry's step ``action``."""
    if STEPS[action].transition is None:
        raise ValueError(f"{action} is no transition of the registry")

    def register(service):
        SERVICES[action] = service
        return service

    return register


# --- drafts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostInput:
    description: str
    net_amount: Decimal
    vat_amount: Decimal = Decimal("0.00")
    ancillary: bool = False


@dataclass(frozen=True)
class ComponentInput:
    kind: str
    area_m2: Decimal
    costs: tuple[CostInput, ...]
    description: str = ""
    category: str = BuildingCategory.STANDARD


def _validated(instance):
    # The protected FSM field refuses even clean_fields' re-assignment of its own value.
    instance.full_clean(exclude=["state"] if isinstance(instance, GrantApplication) else None)
    instance.save()
    return instance


def _ensure_funded(application: GrantApplication, components: Iterable[ComponentInput]) -> None:
    allowed = {rule.component for rule in application.terms().component_rules.all()}
    for component in components:
        if component.kind not in allowed:
            raise ValidationError(
                {"kind": _("Dieses Programm fördert keine Maßnahme der Art „%(kind)s“.") % {"kind": component.kind}}
            )


def _cost_items_replace(measure: MeasureComponent, costs: Iterable[CostInput], *, stage: str) -> None:
    CostItem.objects.filter(component=measure, stage=stage).delete()
    for cost in costs:
        _validated(
            CostItem(
                component=measure,
                stage=stage,
                description=cost.description,
                net_amount=cost.net_amount,
                vat_amount=cost.vat_amount,
                ancillary=cost.ancillary,
            )
        )


def _measures_edit(application: GrantApplication, components: Iterable[ComponentInput]) -> None:
    """The one editor of a draft's measures and quoted costs, whichever door the owner came through.

    Every kind must be one the programme funds. A measure entered again is changed in place and keeps
    its row (and id); one left out is deleted, a new one created; the quoted costs of each are replaced.
    A kind entered twice is refused by the one-measure-per-kind rule.
    """
    components = list(components)
    _ensure_funded(application, components)
    application.components.exclude(kind__in=[c.kind for c in components]).delete()
    kept = {measure.kind: measure for measure in application.components.all()}
    for component in components:
        measure = kept.pop(component.kind, None) or MeasureComponent(application=application, kind=component.kind)
        measure.area_m2 = component.area_m2
        measure.description = component.description
        measure.category = component.category
        _validated(measure)
        _cost_items_replace(measure, component.costs, stage=CostItem.Stage.QUOTE)


def _replace_cost_items(application: GrantApplication, components: Iterable[ComponentInput], *, stage: str) -> None:
    """Replace the cost items of a later stage (the final invoices) on the measures the draft applied for."""
    components = list(components)
    _ensure_funded(application, components)
    existing = {c.kind: c for c in application.components.all()}
    for component in components:
        measure = existing.get(component.kind)
        if measure is None:
            raise ValidationError({"kind": _("Für diese Maßnahme wurde keine Förderung beantragt.")})
        _cost_items_replace(measure, component.costs, stage=stage)


@transaction.atomic
def application_create(
    *,
    programme: Programme,
    applicant: Applicant,
    property: Property,
    components: Iterable[ComponentInput],
    by: User,
    description: str = "",
    works_started_on: date | None = None,
) -> GrantApplication:
    """Create a draft with its measures and quoted costs; bad input raises ValidationError and writes nothing."""
    application = _validated(
        GrantApplication(
            programme=programme,
            applicant=applicant,
            property=property,
            description=description,
            works_started_on=works_started_on,
        )
    )
    _measures_edit(application, components)
    application.store_computation(application.compute())
    application.save()
    return application


UNCHANGED = object()


@transaction.atomic
def application_update(
    *,
    application_id: int,
    by: User,
    description=UNCHANGED,
    works_started_on=UNCHANGED,
    components: Iterable[ComponentInput] | object = UNCHANGED,
) -> GrantApplication:
    """Change a draft: its description, start of works, and its measures with their quoted costs.

    The one service behind the API's update and the portal's measures step. Only the owner edits, and
    only while the application is a draft; what is not given stays as it is; the measures given replace
    the draft's (edited in place, see ``_measures_edit``); the grant is recomputed.
    """
    application = _lock_draft(application_id, by)
    if description is not UNCHANGED:
        application.description = description
    if works_started_on is not UNCHANGED:
        application.works_started_on = works_started_on
    if components is not UNCHANGED:
        _measures_edit(application, cast(Iterable[ComponentInput], components))
    return _recompute(application)


# --- transitions --------------------------------------------------------------------------


def next_file_number(programme: Programme, year: int) -> str:
    """The programme's next file number of the year (``CODE-YEAR-0001``), drawn under the programme's row lock."""
    # The programme row is the lock that keeps two submissions from drawing the same number.
    Programme.objects.select_for_update().filter(pk=programme.pk).first()
    prefix = f"{programme.code}-{year}-"
    # The database picks the highest number (longer is higher: 9999 < 10000), rather than handing every
    # number of the year to Python: at 10,000 cases that made submitting three times slower (issue 8).
    last = (
        GrantApplication.objects.filter(programme=programme, file_number__startswith=prefix)
        .order_by(Length("file_number").desc(), F("file_number").desc())
        .values_list("file_number", flat=True)
        .first()
    )
    return f"{prefix}{int(last.removeprefix(prefix)) + 1 if last else 1:04d}"


def submission_problems(application: GrantApplication, *, on: date) -> list[str]:
    """What keeps a draft from being submitted, in words for the applicant."""
    problems = []
    programme = application.programme
    if not programme.is_open_on(on):
        problems.append(_("Für dieses Programm können zurzeit keine Anträge gestellt werden."))
    problems += checklist_problems([funding_area_check(application)])
    components = list(application.components.all())
    if not components:
        problems.append(_("Bitte geben Sie mindestens eine Maßnahme an."))
    for component in components:
        if not any(i.stage == CostItem.Stage.QUOTE for i in component.cost_items.all()):
            problems.append(
                _("Für die Maßnahme „%(kind)s“ fehlen die Kosten.") % {"kind": component.get_kind_display()}
            )
    if missing_declaration := deminimis.declaration_problem(application):
        problems.append(missing_declaration)
    return problems


@_serves("submit")
@transaction.atomic
def application_submit(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Einreichen: the applicant hands in the draft; it gets its file number."""
    application = _lock(application_id)
    _ensure_allowed(by, "submit", application)
    problems = submission_problems(application, on=today())
    if problems:
        raise DomainError(problems)
    application.store_computation(application.compute())
    if not application.file_number:
        application.file_number = next_file_number(application.programme, today().year)
    deminimis.freeze_terms(application)
    # Signed by submitting: the declaration is fixed with the submission.
    deminimis.declaration_sign(application, by=by)
    application.submitted_at = timezone.now()
    return _run(application, "submit", by=by, comment=comment)


@_serves("return_to_applicant")
@transaction.atomic
def application_return_to_applicant(*, application_id: int, by: User, comment: str) -> GrantApplication:
    """Zurück an Antragsteller/in: the caseworker says what is missing."""
    application = _lock(application_id)
    _ensure_allowed(by, "return_to_applicant", application)
    return _run(application, "return_to_applicant", by=by, comment=comment)


def check_problems(application: GrantApplication) -> list[str]:
    """The completeness check (Vollständigkeitsprüfung) of docs/domain.md, each failure in words: the checklist's."""
    return checklist_problems(completeness_checklist(application))


@_serves("check")
@transaction.atomic
def application_check(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Prüfen: documents, funding area, consultation, no early start, grant computed."""
    application = _lock(application_id)
    _ensure_allowed(by, "check", application)
    application.store_computation(application.compute())
    problems = check_problems(application)
    if problems:
        raise DomainError(problems)
    # The ceiling as it stands on the day of the check; the approval checks it again on its own day.
    deminimis.ensure_within_ceiling(application, grant=application.grant_due(), granted_on=today())
    application.consultation = find_consultation(application)
    application.checked_by = by
    application.checked_at = timezone.now()
    application = _run(application, "check", by=by, comment=comment)
    tell_owner_if_waiting(application)
    return application


@_serves("approve")
@transaction.atomic
def application_approve(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Bewilligen: commit the grant against the allocation of the programme year (four-eyes)."""
    application = _lock(application_id)
    _ensure_allowed(by, "approve", application)
    decided_on = today()
    completion, invoices = approval_deadlines(application.programme, decided_on)
    try:
        # Under the allocation's lock: the waiting list's order holds against concurrent approvals and releases.
        allocation = allocation_for_update(programme_id=application.programme_id, year=decided_on.year)
    except BudgetError as error:
        raise DomainError(str(error)) from None
    passed_over = order_problem(application, available=allocation_balance(allocation).available)
    if passed_over:
        raise DomainError(passed_over)
    grant = application.grant_due()
    if application.is_deminimis():
        # Under the single undertaking's lock: two approvals for linked enterprises cannot both take what is left.
        deminimis.lock_undertaking(application.applicant)
        deminimis.ensure_within_ceiling(application, grant=grant, granted_on=decided_on)
    try:
        ledger_commit(
            programme_id=application.programme_id,
            year=decided_on.year,
            application=application,
            amount=grant,
            by=by,
            comment=_("Bewilligung %(file)s") % {"file": application.file_number},
            # The payment is expected when the final invoices are due: planned in that year's cash.
            expected_year=invoices.year,
        )
    except BudgetError as error:
        raise DomainError(str(error)) from None
    application.approved_by = by
    application.approved_at = timezone.now()
    application.approved_grant = grant
    application.budget_year = decided_on.year
    application.completion_deadline, application.invoice_deadline = completion, invoices
    return _run(application, "approve", by=by, comment=comment)


def approval_deadlines(programme: Programme, decided_on: date) -> tuple[date, date]:
    """The deadlines an approval sets: the works completed, then the final invoices, by the programme's months."""
    completion = decided_on + relativedelta(months=programme.completion_months)
    return completion, completion + relativedelta(months=programme.invoice_months)


@_serves("reject")
@transaction.atomic
def application_reject(*, application_id: int, by: User, comment: str) -> GrantApplication:
    """Ablehnen, with reasons."""
    application = _lock(application_id)
    _ensure_allowed(by, "reject", application)
    return _run(application, "reject", by=by, comment=comment)


def _budget_year(application: GrantApplication) -> int:
    """The programme year an approved grant is booked in (set by the approval)."""
    if application.budget_year is None:
        raise DomainError(_("Der Antrag ist keinem Programmjahr zugeordnet."))
    return application.budget_year


def _release(application: GrantApplication, amount: Decimal, *, by: User, comment: str) -> None:
    ledger_release(
        programme_id=application.programme_id,
        year=_budget_year(application),
        application=application,
        amount=amount,
        by=by,
        comment=comment,
    )


@_serves("withdraw")
@transaction.atomic
def application_withdraw(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Zurückziehen before payment; from approved it releases the commitment."""
    application = _lock(application_id)
    _ensure_allowed(by, "withdraw", application)
    if application.state == State.APPROVED:
        _release(
            application,
            application.approved_grant,
            by=by,
            comment=_("Rücknahme %(file)s") % {"file": application.file_number},
        )
    # A request still open ends with the case: there is nothing left to decide.
    if (change := application.open_change) is not None:
        _decide(change, ChangeRequest.Outcome.WITHDRAWN, by=by, comment="")
    if (extension := application.extensions.filter(outcome=DeadlineExtension.Outcome.OPEN).first()) is not None:
        _decide(extension, DeadlineExtension.Outcome.WITHDRAWN, by=by, comment="")
    if (proof := application.proofs.filter(outcome=ProofOfUse.Outcome.OPEN).first()) is not None:
        _decide(proof, ProofOfUse.Outcome.WITHDRAWN, by=by, comment="")
    if application.open_revocation_id is not None:  # a hearing; nothing is paid, so nothing is to be repaid
        from .revocations import revocation_end_with_case

        revocation_end_with_case(application, by=by)
    return _run(
        application,
        "withdraw",
        by=by,
        comment=comment,
        then={"open_change": None, "extension_requested_at": None, "proof_submitted_at": None, "open_revocation": None},
    )


@_serves("certify_invoices")
@transaction.atomic
def application_certify_invoices(
    *, application_id: int, by: User, invoices: Iterable[ComponentInput] | None = None, comment: str = ""
) -> GrantApplication:
    """Sachlich richtig: the final invoices are recorded; the payable amount follows.

    payable = min(approved grant, grant recomputed on the actual eligible costs): lower costs
    lower the grant, higher costs never raise it. Without ``invoices``, the actual costs are the case's
    invoice rows, each certified (``invoice_certify``); with them (entered per measure), the rows, if any,
    must be certified too.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "certify_invoices", application)
    records = list(application.invoices.all())
    open_ = [i for i in records if i.certified_at is None]
    if open_:
        raise DomainError(
            [
                _("Die Rechnung %(number)s von %(supplier)s ist noch nicht geprüft.")
                % {"number": i.number, "supplier": i.supplier}
                for i in open_
            ]
        )
    if invoices is None:
        if not records:
            raise DomainError(
                _("Zu diesem Antrag ist noch keine Rechnung erfasst; bitte geben Sie die Schlussrechnungen an.")
            )
        invoices = [
            ComponentInput(c.kind, measure.area_m2, c.costs, measure.description, measure.category)
            for c in invoice_costs(records)
            for measure in application.components.all()
            if measure.kind == c.kind
        ]
    _replace_cost_items(application, invoices, stage=CostItem.Stage.INVOICE)
    actual = application.compute(stage=CostItem.Stage.INVOICE)
    payable = min(application.approved_grant, actual.grant)
    partial = paid_so_far(application)
    if payable < partial:
        raise DomainError(
            _(
                "Als Abschlag sind schon %(paid)s € ausgezahlt, mehr als die Schlussrechnung ergibt (%(payable)s €). "
                "Der Unterschied ist zurückzufordern."
            )
            % {"paid": format_amount(partial), "payable": format_amount(payable)}
        )
    application.payable_amount = payable
    application.invoices_certified_by = by
    application.invoices_certified_at = timezone.now()
    return _run(application, "certify_invoices", by=by, comment=comment)


@_serves("pay")
@transaction.atomic
def application_pay(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Auszahlen: pay the certified amount less any partial payments and release the rest (four-eyes)."""
    application = _lock(application_id)
    _ensure_allowed(by, "pay", application)
    ledger_pay(
        programme_id=application.programme_id,
        year=_budget_year(application),
        application=application,
        amount=application.payable_amount - paid_so_far(application),
        by=by,
        comment=_("Auszahlung %(file)s") % {"file": application.file_number},
    )
    from .commitment import set_commitment  # it builds on these services

    application.paid_by = by
    application.paid_at = timezone.now()
    application.paid_amount = application.payable_amount
    set_commitment(application, timezone.localdate(application.paid_at))
    return _run(application, "pay", by=by, comment=comment)


@_serves("document")
@transaction.atomic
def application_document(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Abschließen: after-photos and final documentation are complete."""
    application = _lock(application_id)
    _ensure_allowed(by, "document", application)
    if not application.documents.filter(kind=Document.Kind.PHOTO_AFTER).exists():
        raise DomainError(_("Es fehlen die Fotos nach der Maßnahme."))
    return _run(application, "document", by=by, comment=comment)


# --- deadline extension (Fristverlängerung) -----------------------------------------------

# How far a deadline may be moved at once: a request beyond it is a change of the measure, not of its dates.
EXTENSION_MAX_YEARS = 5


def _reason(reason: str, missing: str) -> str:
    """The reasons of an owner's request: required, and within the length of a step's comment."""
    reason = _require_comment(reason, missing)
    if len(reason) > COMMENT_MAX_LENGTH:
        raise DomainError(
            _("Die Begründung ist zu lang (höchstens %(max)s Zeichen).") % {"max": COMMENT_MAX_LENGTH},
            code=Code.INVALID,
        )
    return reason


def _current_deadlines(application: GrantApplication) -> tuple[date, date]:
    if application.completion_deadline is None or application.invoice_deadline is None:
        raise DomainError(_("Für diesen Antrag sind keine Fristen gesetzt."))
    return application.completion_deadline, application.invoice_deadline


def deadline_problems(before: tuple[date, date], after: tuple[date, date]) -> list[str]:
    """What is wrong with new (completion, invoice) deadlines in place of the ones before, in words."""
    problems = []
    if after[0] < before[0] or after[1] < before[1]:
        problems.append(_("Eine Verlängerung kann eine Frist nicht verkürzen."))
    if after[1] < after[0]:
        problems.append(_("Die Schlussrechnungen können erst nach dem Abschluss der Maßnahme fällig sein."))
    if max(after) > before[1] + relativedelta(years=EXTENSION_MAX_YEARS):
        problems.append(
            _("Eine Frist kann höchstens um %(years)s Jahre verlängert werden.") % {"years": EXTENSION_MAX_YEARS}
        )
    return problems


@_serves("request_extension")
@transaction.atomic
def extension_request(
    *, application_id: int, by: User, completion_deadline: date, invoice_deadline: date, reason: str
) -> DeadlineExtension:
    """Fristverlängerung beantragen: the owner asks for later deadlines, with reasons; the case stays approved."""
    application = _lock(application_id)
    _ensure_allowed(by, "request_extension", application)
    reason = _reason(reason, _("Bitte begründen Sie, warum Sie mehr Zeit brauchen."))
    before = _current_deadlines(application)
    after = (completion_deadline, invoice_deadline)
    problems = deadline_problems(before, after)
    if after == before:
        problems.append(_("Bitte geben Sie mindestens eine spätere Frist an."))
    if problems:
        raise DomainError(problems)  # 409: they follow from the case as it stands
    extension = DeadlineExtension.objects.create(
        application=application,
        requested_by=by,
        reason=reason,
        completion_deadline_before=before[0],
        invoice_deadline_before=before[1],
        completion_deadline=completion_deadline,
        invoice_deadline=invoice_deadline,
    )
    # The flag after the transition: its condition is that no request is open, which this one now is.
    _run(
        application, "request_extension", by=by, comment=reason, then={"extension_requested_at": extension.requested_at}
    )
    return extension


def _open_extension(application: GrantApplication) -> DeadlineExtension:
    extension = application.extensions.filter(outcome=DeadlineExtension.Outcome.OPEN).first()
    if extension is None:  # the flag without its row: never written so, but no step may take it for granted
        raise DomainError(_("Zu diesem Antrag ist keine Fristverlängerung beantragt."))
    return extension


def _decide(request: OwnerRequest, outcome: str, *, by: User, comment: str) -> None:
    """Record the decision on an owner's request (extension, change or proof of use): who, when, what and why."""
    request.outcome = outcome
    request.decided_by = by
    request.decided_at = timezone.now()
    request.decision_comment = comment
    request.save(update_fields=["outcome", "decided_by", "decided_at", "decision_comment"])


@_serves("grant_extension")
@transaction.atomic
def extension_grant(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Fristverlängerung bewilligen: the requested deadlines apply; the owner receives the notice."""
    application = _lock(application_id)
    _ensure_allowed(by, "grant_extension", application)
    extension = _open_extension(application)
    _decide(extension, DeadlineExtension.Outcome.GRANTED, by=by, comment=(comment or "").strip())
    application.completion_deadline = extension.completion_deadline
    application.invoice_deadline = extension.invoice_deadline
    return _run(application, "grant_extension", by=by, comment=comment, then={"extension_requested_at": None})


@_serves("refuse_extension")
@transaction.atomic
def extension_refuse(*, application_id: int, by: User, comment: str) -> GrantApplication:
    """Fristverlängerung ablehnen, with reasons: the deadlines stay as they were."""
    application = _lock(application_id)
    _ensure_allowed(by, "refuse_extension", application)
    comment = _require_comment(comment, str(STEPS["refuse_extension"].comment_required))
    extension = _open_extension(application)
    _decide(extension, DeadlineExtension.Outcome.REFUSED, by=by, comment=comment)
    return _run(application, "refuse_extension", by=by, comment=comment, then={"extension_requested_at": None})


# --- change request (Änderungsantrag) --------------------------------------------------------


def measures_of(application: GrantApplication) -> list[ComponentInput]:
    """The case's measures with their quoted costs as they stand, in the form a change gives them."""
    return [
        ComponentInput(
            kind=measure.kind,
            area_m2=measure.area_m2,
            description=measure.description,
            category=measure.category,
            costs=tuple(
                CostInput(i.description, i.net_amount, i.vat_amount, i.ancillary)
                for i in measure.cost_items.all()
                if i.stage == CostItem.Stage.QUOTE
            ),
        )
        for measure in application.components.all()
    ]


def _cents(value: Decimal) -> str:
    # As the database keeps them (two places): 180 and 180.00 m² are the same measure.
    return str(Decimal(value).quantize(Decimal("0.01")))


def measures_snapshot(components: Iterable[ComponentInput]) -> list[dict]:
    """Measures and costs as a change request keeps them (amounts as exact decimal strings), by kind."""
    return sorted(
        (
            {
                "kind": c.kind,
                "area_m2": _cents(c.area_m2),
                "description": c.description,
                "category": c.category,
                "costs": [
                    {
                        "description": cost.description,
                        "net_amount": _cents(cost.net_amount),
                        "vat_amount": _cents(cost.vat_amount),
                        "ancillary": cost.ancillary,
                    }
                    for cost in c.costs
                ],
            }
            for c in components
        ),
        key=lambda measure: measure["kind"],
    )


def measures_from_snapshot(snapshot: Iterable[dict]) -> list[ComponentInput]:
    return [
        ComponentInput(
            kind=m["kind"],
            area_m2=Decimal(m["area_m2"]),
            description=m["description"],
            category=m["category"],
            costs=tuple(
                CostInput(c["description"], Decimal(c["net_amount"]), Decimal(c["vat_amount"]), c["ancillary"])
                for c in m["costs"]
            ),
        )
        for m in snapshot
    ]


def _valid_measures(application: GrantApplication, components: list[ComponentInput]) -> None:
    """The rules of a draft's measures, for measures not saved yet: funded kinds, each once, with valid costs."""
    if not components:
        raise DomainError(_("Bitte geben Sie mindestens eine Maßnahme mit Fläche und Kosten an."), code=Code.INVALID)
    kinds = [c.kind for c in components]
    if len(set(kinds)) != len(kinds):
        raise DomainError(_("Jede Art von Maßnahme kann nur einmal angegeben werden."), code=Code.INVALID)
    problems = []
    try:
        _ensure_funded(application, components)
        for component in components:
            if not component.costs:
                problems.append(
                    _("Für die Maßnahme „%(kind)s“ fehlen die Kosten.")
                    % {"kind": MeasureComponent(kind=component.kind).get_kind_display()}
                )
            measure = MeasureComponent(
                application=application,
                kind=component.kind,
                area_m2=component.area_m2,
                description=component.description,
                category=component.category,
            )
            measure.full_clean(exclude=["application"], validate_unique=False)
            for cost in component.costs:
                CostItem(
                    component=measure,
                    stage=CostItem.Stage.QUOTE,
                    description=cost.description,
                    net_amount=cost.net_amount,
                    vat_amount=cost.vat_amount,
                    ancillary=cost.ancillary,
                ).full_clean(exclude=["component"])
    except ValidationError as error:
        problems += error.messages
    if problems:
        raise DomainError(problems)  # 409: they follow from the case as it stands


@_serves("request_change")
@transaction.atomic
def change_request(
    *,
    application_id: int,
    by: User,
    components: Iterable[ComponentInput],
    reason: str,
    completion_deadline: date | None = None,
    invoice_deadline: date | None = None,
    files: Iterable = (),
) -> ChangeRequest:
    """Änderungsantrag: the owner asks to change the approved measures, costs, areas or deadlines, with reasons.

    The grant the change would give is computed under the case's guideline version; nothing of the case changes
    until the change is approved. The documents come with the request, all of them or none.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "request_change", application)
    reason = _reason(reason, _("Bitte begründen Sie, warum sich die Maßnahme ändern soll."))
    components = list(components)
    _valid_measures(application, components)
    before = _current_deadlines(application)
    after = (completion_deadline or before[0], invoice_deadline or before[1])
    problems = deadline_problems(before, after)
    measures_before, measures = measures_snapshot(measures_of(application)), measures_snapshot(components)
    if measures == measures_before and after == before:
        problems.append(_("Die beantragten Maßnahmen und Fristen sind dieselben wie bisher."))
    if problems:
        raise DomainError(problems)  # 409: they follow from the case as it stands
    result = application.compute_for((c, c.costs) for c in components)
    change = ChangeRequest.objects.create(
        application=application,
        requested_by=by,
        reason=reason,
        measures_before=measures_before,
        measures=measures,
        grant_before=application.approved_grant,
        grant=result.grant,
        computation=result.as_dict(),
        completion_deadline_before=before[0],
        invoice_deadline_before=before[1],
        completion_deadline=after[0],
        invoice_deadline=after[1],
    )
    with _files_undone_on_failure() as store:
        for file in files:
            store(application, by=by, kind=Document.Kind.CHANGE, file=file)
        # The link after the transition: its condition is that no change is open, which this one now is.
        _run(application, "request_change", by=by, comment=reason, then={"open_change": change})
    return change


def _open_change(application: GrantApplication) -> ChangeRequest:
    change = application.open_change
    if change is None:  # the conditions say so first; no step may take it for granted
        raise DomainError(_("Zu diesem Antrag ist kein Änderungsantrag offen."))
    return change


@_serves("check_change")
@transaction.atomic
def change_check(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Änderungsantrag prüfen: the caseworker confirms the request; a second person decides."""
    application = _lock(application_id)
    _ensure_allowed(by, "check_change", application)
    change = _open_change(application)
    _run(application, "check_change", by=by, comment=comment)
    # After the transition: its condition is that the change is not checked yet.
    change.checked_by = by
    change.checked_at = timezone.now()
    change.save(update_fields=["checked_by", "checked_at"])
    return application


@_serves("approve_change")
@transaction.atomic
def change_approve(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Änderung bewilligen (four-eyes): the measures and costs change, the grant with them, booked per share.

    A higher grant is committed in addition, only if the allocation and each of its shares carry it (409 and
    nothing changed otherwise); a lower one releases the difference.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "approve_change", application)
    change = _open_change(application)
    _measures_edit(application, measures_from_snapshot(change.measures))
    application.store_computation(application.compute())
    grant, before = application.grant_due(), application.approved_grant
    words = {"file": application.file_number}
    if grant > before and application.is_deminimis():
        # A raise is granted on the day of the change's approval: the whole grant must fit under the ceiling then.
        deminimis.lock_undertaking(application.applicant)
        deminimis.ensure_within_ceiling(application, grant=grant, granted_on=today())
    try:
        if grant > before:
            ledger_commit(
                programme_id=application.programme_id,
                year=_budget_year(application),
                application=application,
                amount=grant - before,
                by=by,
                comment=_("Änderung %(file)s: Erhöhung") % words,
            )
        elif grant < before:
            _release(application, before - grant, by=by, comment=_("Änderung %(file)s: Minderung") % words)
    except BudgetError as error:
        raise DomainError(str(error)) from None
    application.approved_grant = grant
    application.completion_deadline, application.invoice_deadline = change.completion_deadline, change.invoice_deadline
    _decide(change, ChangeRequest.Outcome.APPROVED, by=by, comment=(comment or "").strip())
    return _run(application, "approve_change", by=by, comment=comment, then={"open_change": None})


@_serves("refuse_change")
@transaction.atomic
def change_refuse(*, application_id: int, by: User, comment: str) -> GrantApplication:
    """Änderungsantrag ablehnen, with reasons: the approved measures, costs and deadlines stay."""
    application = _lock(application_id)
    _ensure_allowed(by, "refuse_change", application)
    comment = _require_comment(comment, str(STEPS["refuse_change"].comment_required))
    _decide(_open_change(application), ChangeRequest.Outcome.REFUSED, by=by, comment=comment)
    return _run(application, "refuse_change", by=by, comment=comment, then={"open_change": None})


# --- invoices as records, partial payments (Abschlagszahlungen) ----------------------------


@dataclass(frozen=True)
class InvoiceInput:
    number: str
    issued_on: date
    supplier: str
    measure: str
    description: str
    net_amount: Decimal
    vat_amount: Decimal = Decimal("0.00")
    ancillary: bool = False
    paid_on: date | None = None


def einvoice_prefill(document: Document) -> dict:
    """What an e-invoice's XML says of the invoice row: number, date, supplier and amounts (empty if none)."""
    data = document.einvoice or {}
    if not data:
        return {}
    return {
        "number": data.get("number") or "",
        "issued_on": document.einvoice_issue_date,
        "supplier": data.get("supplier") or "",
        "net_amount": Decimal(data["net"]),
        "vat_amount": Decimal(data["vat"]),
        "description": "; ".join(line["description"] for line in data.get("lines", []) if line.get("description"))[
            :500
        ],
    }


def _einvoice_mismatches(document: Document, data: InvoiceInput) -> list[str]:
    """Where the entered row differs from the e-invoice's own data: the XML is the invoice, the row must agree."""
    known = einvoice_prefill(document)
    if not known:
        return []
    names = {
        "number": _("Rechnungsnummer"),
        "issued_on": _("Rechnungsdatum"),
        "net_amount": _("Nettobetrag"),
        "vat_amount": _("Umsatzsteuer"),
    }
    return [
        _("%(field)s weicht von der E-Rechnung ab (dort: %(value)s).")
        % {"field": label, "value": format_amount(known[field]) if "amount" in field else known[field]}
        for field, label in names.items()
        if known.get(field) not in (None, "") and getattr(data, field) != known[field]
    ]


def _field_messages(model, error: ValidationError) -> list[str]:
    """A model's validation errors, each named by its field's label ("Rechnungsnummer: …")."""
    return [
        f"{model._meta.get_field(field).verbose_name}: {message}" if field != NON_FIELD_ERRORS else message
        for field, messages in error.message_dict.items()
        for message in messages
    ]


@transaction.atomic
def invoice_record(
    *, application_id: int, by: User, document_id: int, data: InvoiceInput, payment_proof=None
) -> Invoice:
    """Enter one invoice the owner handed in, as a row with its document (and, if given, the proof of payment).

    The owner of an approved case, until the final invoices are certified. An e-invoice's row must agree with its
    XML. Refusals raise DomainError (code INVALID for bad input) and write nothing.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "record_invoice", application)
    document = application.documents.filter(pk=document_id, kind=Document.Kind.INVOICE, removed_at__isnull=True).first()
    if document is None:
        raise DomainError(_("Diese Rechnung (Datei) gehört nicht zu diesem Antrag."), code=Code.NOT_FOUND)
    if Invoice.objects.filter(document=document).exists():
        raise DomainError(_("Zu dieser Datei ist die Rechnung schon erfasst."))
    problems = _einvoice_mismatches(document, data)
    if data.measure not in {c.kind for c in application.components.all()}:
        problems.append(_("Für diese Maßnahme ist keine Förderung bewilligt."))
    if data.issued_on > today():
        problems.append(_("Das Rechnungsdatum liegt in der Zukunft."))
    if data.paid_on is not None and data.paid_on > today():
        problems.append(_("Das Zahlungsdatum liegt in der Zukunft."))
    if data.vat_amount > data.net_amount:  # the forms say so on the field first
        problems.append(_("Die Umsatzsteuer kann nicht höher sein als der Nettobetrag."))
    if application.invoices.filter(supplier=data.supplier.strip(), number=data.number.strip()).exists():
        problems.append(
            _("Die Rechnung %(number)s von %(supplier)s ist schon erfasst.")
            % {"number": data.number, "supplier": data.supplier}
        )
    if problems:
        raise DomainError(problems)  # 409: they follow from the case as it stands
    invoice = Invoice(
        application=application,
        document=document,
        number=data.number.strip(),
        issued_on=data.issued_on,
        supplier=data.supplier.strip(),
        measure=data.measure,
        description=data.description.strip(),
        ancillary=data.ancillary,
        net_amount=data.net_amount,
        vat_amount=data.vat_amount,
        gross_amount=data.net_amount + data.vat_amount,
        paid_on=data.paid_on,
        entered_by=by,
    )
    try:
        invoice.full_clean(exclude=["application", "document", "entered_by", "payment_proof"])
    except ValidationError as error:
        raise DomainError(_field_messages(Invoice, error), code=Code.INVALID) from None
    with _files_undone_on_failure() as store:
        if payment_proof is not None:
            invoice.payment_proof = store(application, by=by, kind=Document.Kind.PAYMENT_PROOF, file=payment_proof)
        invoice.save()
        words = {"number": invoice.number, "supplier": invoice.supplier, "gross": format_amount(invoice.gross_amount)}
        _run(
            application,
            "record_invoice",
            by=by,
            comment=_("Rechnung %(number)s (%(supplier)s), %(gross)s € brutto") % words,
        )
    return invoice


@_serves("certify_invoice")
@transaction.atomic
def invoice_certify(
    *, application_id: int, by: User, invoice_id: int, eligible_amount: Decimal, reason: str = ""
) -> Invoice:
    """Sachlich richtig for one invoice: its eligible net amount, and why, if less than the invoice."""
    application = _lock(application_id)
    _ensure_allowed(by, "certify_invoice", application)
    invoice = application.invoices.select_for_update().filter(pk=invoice_id).first()
    if invoice is None:
        raise DomainError(_("Rechnung nicht gefunden."), code=Code.NOT_FOUND)
    if invoice.certified_at is not None:
        raise DomainError(_("Diese Rechnung ist schon geprüft."))
    reason = (reason or "").strip()
    if eligible_amount < 0 or eligible_amount > invoice.net_amount:
        raise DomainError(
            _("Förderfähig sein können 0 bis %(net)s € (der Nettobetrag der Rechnung).")
            % {"net": format_amount(invoice.net_amount)}
        )
    if eligible_amount < invoice.net_amount and not reason:
        raise DomainError(_("Bitte begründen Sie die Kürzung."))
    comment = _("Rechnung %(number)s (%(supplier)s): förderfähig %(amount)s € netto") % {
        "number": invoice.number,
        "supplier": invoice.supplier,
        "amount": format_amount(eligible_amount),
    }
    _run(application, "certify_invoice", by=by, comment=f"{comment}. {reason}" if reason else comment)
    invoice.eligible_amount = eligible_amount
    invoice.cut_reason = reason
    invoice.certified_by = by
    invoice.certified_at = timezone.now()
    invoice.save(update_fields=["eligible_amount", "cut_reason", "certified_by", "certified_at"])
    return invoice


def invoice_costs(invoices: Iterable[Invoice]) -> list[ComponentInput]:
    """Certified invoices as the cost lines of their measures: eligible net with its VAT, planning apart."""
    by_measure: dict[str, list[CostInput]] = {}
    for invoice in invoices:
        by_measure.setdefault(invoice.measure, []).append(
            CostInput(
                f"{invoice.supplier} {invoice.number}"[:300],
                cast(Decimal, invoice.eligible_amount),
                cast(Decimal, invoice.eligible_vat),
                invoice.ancillary,
            )
        )
    return [ComponentInput(kind, Decimal("0"), tuple(costs)) for kind, costs in by_measure.items()]


def invoices_grant(application: GrantApplication, invoices: Iterable[Invoice]) -> Decimal:
    """The grant the guideline gives for these certified invoices, on the case's approved measures."""
    costs = {c.kind: c.costs for c in invoice_costs(invoices)}
    return application.compute_for(
        (measure, costs.get(measure.kind, ())) for measure in application.components.all()
    ).grant


def paid_so_far(application: GrantApplication) -> Decimal:
    """The partial payments, less what a revocation had repaid of them (grants.revocations)."""
    paid = sum((p.amount for p in application.partial_payments.all()), Decimal("0.00"))
    return paid - sum((r.principal_part for r in application.repayments.all()), Decimal("0.00"))


def partial_payment_due(application: GrantApplication) -> Decimal:
    """What a partial payment pays now: the grant on the certified invoices, up to the programme's share of the
    approved grant, less what was paid before (never less than nothing)."""
    certified = list(application.invoices.filter(certified_at__isnull=False))
    cap = (application.approved_grant * application.programme.partial_payment_percent / 100).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    earned = min(invoices_grant(application, certified), application.approved_grant, cap)
    return max(earned - paid_so_far(application), Decimal("0.00"))


@_serves("pay_partial")
@transaction.atomic
def partial_pay(*, application_id: int, by: User, comment: str = "") -> PartialPayment:
    """Abschlagszahlung (finance, never whoever certified one of the invoices): paid against certified invoices.

    The ledger books it as a payment on the case's commitment, split per share exactly; the commitment stays
    open for the final payment, which settles on the actual costs and releases the rest.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "pay_partial", application)
    open_invoices = list(application.invoices.filter(certified_at__isnull=False, partial_payment__isnull=True))
    amount = partial_payment_due(application)
    if amount <= 0:
        raise DomainError(
            _(
                "Auf die geprüften Rechnungen ist kein weiterer Abschlag möglich: Bis zum Verwendungsnachweis werden "
                "höchstens %(percent)s %% des Zuschusses ausgezahlt."
            )
            % {"percent": application.programme.partial_payment_percent}
        )
    number = application.partial_payments.count() + 1
    try:
        ledger_pay(
            programme_id=application.programme_id,
            year=_budget_year(application),
            application=application,
            amount=amount,
            by=by,
            comment=_("%(number)s. Abschlag %(file)s") % {"number": number, "file": application.file_number},
            final=False,
        )
    except BudgetError as error:
        raise DomainError(str(error)) from None
    application.paid_amount = (application.paid_amount or Decimal("0.00")) + amount
    _run(application, "pay_partial", by=by, comment=comment)
    # After the transition: its condition is that a certified invoice waits for a partial payment.
    payment = PartialPayment.objects.create(application=application, number=number, amount=amount, paid_by=by)
    Invoice.objects.filter(pk__in=[i.pk for i in open_invoices]).update(partial_payment=payment)
    return payment


# --- the owner's proof of use (Verwendungsnachweis der Antragsteller/in) -----------------------------

# What a proof of use lists of the case's documents (the invoice list): the final invoices and the after-photos.
PROOF_KINDS = (Document.Kind.INVOICE, Document.Kind.PHOTO_AFTER)


def completion_problems(application: GrantApplication, completed_on: date | None) -> list[str]:
    """What is wrong with the day the owner says the works were finished, in words."""
    if completed_on is None:
        return [_("Bitte geben Sie an, an welchem Tag die Arbeiten abgeschlossen wurden.")]
    problems = []
    if completed_on > today():
        problems.append(_("Der Tag des Abschlusses der Arbeiten kann nicht in der Zukunft liegen."))
    approved_on = timezone.localdate(application.approved_at) if application.approved_at else None
    if approved_on is not None and completed_on < approved_on:
        problems.append(
            _("Die Arbeiten können nicht vor der Bewilligung am %(date)s abgeschlossen worden sein.")
            % {"date": approved_on.strftime("%d.%m.%Y")}
        )
    return problems


def proof_problems(
    application: GrantApplication, *, completed_on: date | None, report: str, invoices: int, photos: int
) -> list[str]:
    """What keeps a proof of use from being submitted, every part in words (``invoices``, ``photos``: new files)."""
    problems = []
    if not report:
        problems.append(_("Bitte beschreiben Sie im Sachbericht, welche Arbeiten ausgeführt wurden."))
    elif len(report) > DESCRIPTION_MAX_LENGTH:
        problems.append(_("Der Sachbericht ist zu lang (höchstens %(max)s Zeichen).") % {"max": DESCRIPTION_MAX_LENGTH})
    problems += completion_problems(application, completed_on)
    return problems + proof_file_problems(application, invoices=invoices, photos=photos)


def proof_file_problems(application: GrantApplication, *, invoices: int, photos: int) -> list[str]:
    """The files a proof of use lacks: an invoice and an after-photo, on the case or among the new ones (counted)."""
    problems = []
    present = set(
        application.documents.filter(kind__in=PROOF_KINDS, removed_at__isnull=True).values_list("kind", flat=True)
    )
    if not invoices and Document.Kind.INVOICE not in present:
        problems.append(_("Es fehlen die Schlussrechnungen: Bitte laden Sie mindestens eine Rechnung hoch."))
    if not photos and Document.Kind.PHOTO_AFTER not in present:
        problems.append(
            _("Es fehlen die Fotos nach der Maßnahme: Bitte laden Sie mindestens ein Foto der fertigen Arbeiten hoch.")
        )
    return problems


@_serves("submit_proof")
@transaction.atomic
def proof_submit(
    *,
    application_id: int,
    by: User,
    completed_on: date | None,
    report: str,
    invoices: Iterable = (),
    photos: Iterable = (),
) -> ProofOfUse:
    """Verwendungsnachweis einreichen: the owner's factual report, the day the works were finished, and the files.

    The new files (final invoices, which may be e-invoices, and after-photos) are kept all or none; the case must then
    hold at least one invoice and one after-photo, old or new. Every missing part is named (400) and nothing is
    written. The case stays approved; the caseworker checks the proof before the invoices are certified.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "submit_proof", application)
    report = (report or "").strip()
    invoices, photos = list(invoices), list(photos)
    problems = proof_problems(
        application, completed_on=completed_on, report=report, invoices=len(invoices), photos=len(photos)
    )
    if problems or completed_on is None:  # a missing day is among the problems
        raise DomainError(problems)  # 409: they follow from the case as it stands
    proof = ProofOfUse.objects.create(
        application=application, submitted_by=by, completed_on=completed_on, report=report
    )
    with _files_undone_on_failure() as store:
        for kind, files in ((Document.Kind.INVOICE, invoices), (Document.Kind.PHOTO_AFTER, photos)):
            for file in files:
                store(application, by=by, kind=kind, file=file)
        proof.documents.set(application.documents.filter(kind__in=PROOF_KINDS, removed_at__isnull=True))
        # The flag after the transition: its condition is that no proof waits for the check, which this one now does.
        _run(application, "submit_proof", by=by, comment="", then={"proof_submitted_at": proof.submitted_at})
    return proof


def _open_proof(application: GrantApplication) -> ProofOfUse:
    proof = application.proofs.filter(outcome=ProofOfUse.Outcome.OPEN).first()
    if proof is None:  # the flag without its row: never written so, but no step may take it for granted
        raise DomainError(_("Zu diesem Antrag wartet kein Verwendungsnachweis auf die Prüfung."))
    return proof


@_serves("accept_proof")
@transaction.atomic
def proof_accept(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Verwendungsnachweis anerkennen: report, invoices and photos are complete; the invoices are certified next."""
    application = _lock(application_id)
    _ensure_allowed(by, "accept_proof", application)
    proof = _open_proof(application)
    _decide(proof, ProofOfUse.Outcome.ACCEPTED, by=by, comment=(comment or "").strip())
    return _run(
        application,
        "accept_proof",
        by=by,
        comment=comment,
        then={"proof_submitted_at": None, "proof_accepted_at": proof.decided_at},
    )


@_serves("return_proof")
@transaction.atomic
def proof_return(*, application_id: int, by: User, comment: str) -> GrantApplication:
    """Verwendungsnachweis zurückgeben: the caseworker says what is missing; the owner submits it again."""
    application = _lock(application_id)
    _ensure_allowed(by, "return_proof", application)
    comment = _require_comment(comment, str(STEPS["return_proof"].comment_required))
    _decide(_open_proof(application), ProofOfUse.Outcome.RETURNED, by=by, comment=comment)
    return _run(application, "return_proof", by=by, comment=comment, then={"proof_submitted_at": None})


def application_approve_queued(*, application_id: int, by_id: int, comment: str = "") -> bool:
    """One approval of a batch, in a worker: approve, or leave the case checked with a note saying why not.

    A task delivered again after its approval committed finds the case approved and changes nothing.
    """
    by = User.objects.get(pk=by_id)
    try:
        application_approve(application_id=application_id, by=by, comment=comment)
    except DomainError as refusal:
        with transaction.atomic():
            application = GrantApplication.objects.select_for_update(of=("self",)).filter(pk=application_id).first()
            if application is not None and application.state == State.CHECKED:
                InternalNote.objects.create(
                    application=application,
                    author=by,
                    text=_("Bewilligung im Stapel nicht möglich: %(reasons)s") % {"reasons": " ".join(refusal.reasons)},
                )
        return False
    return True


class _CommentSteps(Mapping[str, Callable[..., GrantApplication]]):
    """The services of the steps that take a comment only (one workspace form and one API endpoint each), by name.

    Read at the call: the revocation steps' services (grants.revocations) register after this module.
    grants.apps checks at start-up that every step of the registry has its service.
    """

    names = tuple(step.name for step in TRANSITION_STEPS if not step.own_form)

    def __getitem__(self, name: str) -> Callable[..., GrantApplication]:
        if name not in self.names:
            raise KeyError(name)
        return SERVICES[name]

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


TRANSITIONS = _CommentSteps()


# --- the owner portal: a draft step by step, documents -----------------------------------


def _lock_draft(application_id: int, by: User) -> GrantApplication:
    application = _lock(application_id)
    _ensure_allowed(by, "edit", application)
    if application.state != State.DRAFT:
        raise DomainError(
            _("Im Status „%(state)s“ kann der Antrag nicht mehr geändert werden.")
            % {"state": application.get_state_display()}
        )
    return application


def _recompute(application: GrantApplication) -> GrantApplication:
    application.store_computation(application.compute())
    return _validated(application)


@transaction.atomic
def draft_start(*, programme_id: int, applicant_id: int, property: PropertyInput, by: User) -> GrantApplication:
    """Start a draft once the owner has given their details and the property; measures follow."""
    programme = Programme.objects.filter(pk=programme_id).first()
    applicant = Applicant.objects.filter(pk=applicant_id, user=by).first() if by.is_authenticated else None
    if programme is None or applicant is None:
        raise DomainError(_("Nicht gefunden."), code=Code.NOT_FOUND)
    if not programme.is_open_on(today()) or programme.current_version_id is None:
        raise DomainError(_("Für dieses Programm können zurzeit keine Anträge gestellt werden."))
    prop = property_find_or_create(data=property, registered_by=applicant)
    return application_create(programme=programme, applicant=applicant, property=prop, components=[], by=by)


@transaction.atomic
def draft_update_applicant(*, application_id: int, by: User, data: ApplicantInput) -> GrantApplication:
    """Change the applicant's details of a draft; the grant follows (input-VAT deduction counts)."""
    application = _lock_draft(application_id, by)
    try:
        application.applicant = applicant_save(
            by=by, data=data, applicant_id=application.applicant_id, for_draft=application.pk
        )
    except PermissionDenied:
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND) from None
    return _recompute(application)


@transaction.atomic
def draft_update_property(*, application_id: int, by: User, data: PropertyInput) -> GrantApplication:
    """Change the property of a draft (another property record when the details differ)."""
    application = _lock_draft(application_id, by)
    application.property = property_find_or_create(data=data, registered_by=application.applicant)
    return _validated(application)


def application_upload_bytes(application: GrantApplication) -> int:
    """What the application's documents take up in storage; a missing file counts nothing."""
    total = 0
    for document in application.documents.all():
        with contextlib.suppress(FileNotFoundError, OSError):
            total += document.file.size
    return total


@transaction.atomic
def document_upload(*, application_id: int, by: User, kind: str, file) -> Document:
    """Hand in one file: PDF, JPEG or PNG by content, within the limits per file and per application.

    Each file is its own transaction, so a refused file in a batch leaves the others saved.
    Refusals raise ValidationError with a message naming the file.
    """
    application = _lock(application_id)
    if not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    allowed = upload_kinds(by, application)
    if kind not in allowed:
        if not allowed:
            raise DomainError(
                _("Im Status „%(state)s“ können Sie keine Unterlagen hochladen.")
                % {"state": application.get_state_display()}
            )
        # The state decides what may be handed in now: a conflict, not bad input.
        raise DomainError(_("Diese Art von Unterlage können Sie jetzt nicht hochladen."))
    return _document_store(application, by=by, kind=kind, file=file)


@contextlib.contextmanager
def _files_undone_on_failure():
    """Yield ``_document_store`` for files that come with a larger write: if the write fails, their files go too.

    The rows roll back with the transaction; the files in the storage do not, so they are deleted here.
    """
    stored: list[Document] = []

    def store(application: GrantApplication, *, by: User, kind: str, file) -> Document:
        stored.append(_document_store(application, by=by, kind=kind, file=file))
        return stored[-1]

    try:
        yield store
    except BaseException:
        for document in stored:
            document.file.storage.delete(document.file.name)  # type: ignore[arg-type]  # saved, so it has a name
        raise


def _document_store(application: GrantApplication, *, by: User, kind: str, file) -> Document:
    """Check a file (content, limits) and keep it with the application; the row's failure leaves no file."""
    name = file.name or "datei"
    per_file = settings.PORTAL_UPLOAD_MAX_FILE_BYTES
    if file.size > per_file:
        raise ValidationError(
            _("„%(name)s“ ist %(size)s groß; erlaubt sind höchstens %(limit)s je Datei.")
            % {"name": name, "size": filesizeformat(file.size), "limit": filesizeformat(per_file)},
            code="file_size",
        )
    per_application = settings.PORTAL_UPLOAD_MAX_APPLICATION_BYTES
    used = application_upload_bytes(application)
    if used + file.size > per_application:
        raise ValidationError(
            _(
                "„%(name)s“ passt nicht mehr dazu: Zu einem Antrag sind höchstens %(limit)s Unterlagen möglich, "
                "%(used)s sind schon hochgeladen."
            )
            % {"name": name, "limit": filesizeformat(per_application), "used": filesizeformat(used)},
            code="application_size",
        )
    # Only a final invoice may be an e-invoice (ZUGFeRD / Factur-X PDF, XRechnung XML); its data is kept with it.
    is_invoice = kind == Document.Kind.INVOICE
    content_type = content_type_of(file, name, einvoice=is_invoice)
    einvoice = {}
    if is_invoice and content_type in (PDF, XML):
        file.seek(0)
        data = file.read()
        file.seek(0)
        if content_type == XML:
            einvoice = einvoice_as_dict(read_einvoice_xml(data, name))
        elif (found := einvoice_in_pdf(data, name)) is not None:
            einvoice = einvoice_as_dict(found)
    document = Document(
        application=application,
        kind=kind,
        original_name=named_for(name, content_type),
        uploaded_by=by,
        einvoice=einvoice,
    )
    document.file.save(f"{kind}-{uuid4().hex[:16]}.{named_for(name, content_type).rsplit('.', 1)[1]}", file, save=False)
    stored = document.file.name
    # The file is written before its row: if the row never commits, the file must not stay behind.
    try:
        document = _validated(document)
        # An upload is a change of the draft: it resets the time a never-submitted draft is kept (grants.privacy).
        GrantApplication.objects.filter(pk=application.pk).update(updated_at=timezone.now())
    except Exception:
        document.file.storage.delete(stored)  # type: ignore[arg-type]  # saved above, so it has a name
        raise
    return document


# --- workspace ----------------------------------------------------------------------------


@transaction.atomic
def note_add(*, application_id: int, by: User, text: str) -> InternalNote:
    """Interner Vermerk: staff note on a case, never shown to the applicant."""
    application = _lock(application_id)
    if not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    decision = decide(by, "note", application)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    text = _require_comment(text, _("Bitte schreiben Sie einen Vermerk."))
    return InternalNote.objects.create(application=application, author=by, text=text)


@transaction.atomic
def application_link_consultation(*, application_id: int, consultation_id: int, by: User) -> GrantApplication:
    """Link the initial consultation (Erstberatung) recorded before the application to it.

    A consultation is often recorded before the owner has an account, so the automatic match
    by applicant and property misses it; the caseworker finds it and links it here.
    """
    application = _lock(application_id)
    if not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    decision = decide(by, "link_consultation", application)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    consultation = Consultation.objects.filter(
        pk=consultation_id, municipality=application.programme.municipality_id
    ).first()
    if consultation is None:
        raise DomainError(_("Erstberatung nicht gefunden."), code=Code.NOT_FOUND)
    if application.state not in (State.DRAFT, State.SUBMITTED):
        raise DomainError(_("Die Erstberatung lässt sich nur vor der Prüfung zuordnen."))
    application.consultation = consultation
    application.save(update_fields=["consultation"])
    return application


# --- guideline versions --------------------------------------------------------------------


@transaction.atomic
def guideline_version_create(
    *, programme_id: int, by: User, valid_from: date, reason: str, **changes
) -> GuidelineVersion:
    """A new version of the programme's guideline (Fassung): the current one's terms, rules and streets, changed.

    ``changes`` name the terms that differ (``funding_rate_percent=…``). The new version becomes the one
    applications submitted from now on fall under; cases submitted before keep theirs (docs/domain.md,
    "Guideline versions"). Bad input raises ValidationError and writes nothing.
    """
    # The programme row keeps two editors from drawing the same number.
    programme = Programme.objects.select_for_update().filter(pk=programme_id).first()
    if programme is None:
        raise DomainError(_("Förderprogramm nicht gefunden."), code=Code.NOT_FOUND)
    based_on = programme.current_version
    terms = {f.name: getattr(based_on, f.name) for f in GUIDELINE_TERMS} if based_on else {}
    version = GuidelineVersion(
        programme=programme, valid_from=valid_from, reason=reason.strip(), author=by, **{**terms, **changes}
    )
    version.full_clean()
    version._history_user = by  # type: ignore[attr-defined]  # django-simple-history's author of the row
    version.save()
    if based_on is not None:
        rows: list[ProgrammeComponentRule | FundingAreaStreet] = [
            *based_on.component_rules.all(),
            *based_on.funding_area.all(),
        ]
        for row in rows:
            row.pk = None
            row.version = version
            row._history_user = by  # type: ignore[union-attr]
            row.save()
    return version


@transaction.atomic
def guideline_version_update(*, version_id: int, by: User, **changes) -> GuidelineVersion:
    """Change a version's terms while no application has been submitted under it; refused (409) once one has."""
    version = GuidelineVersion.objects.select_for_update().select_related("programme").get(pk=version_id)
    if version.is_frozen():
        raise DomainError(frozen_message(version))
    for name, value in changes.items():
        setattr(version, name, value)
    try:
        version.full_clean()
        version._history_user = by  # type: ignore[attr-defined]  # django-simple-history's author of the row
        version.save()
    except FrozenGuideline as error:
        raise DomainError(error.messages) from None
    return version


# A case not yet decided: the notice has not fixed its terms, so a newer guideline may apply where it says so.
PENDING_STATES = (State.SUBMITTED, State.CHECKED)


def rebase_target(application: GrantApplication) -> GuidelineVersion | None:
    """The newer guideline version a pending case may be re-based on now, or None."""
    newer = application.programme.current_version
    if (
        application.state not in PENDING_STATES
        or newer is None
        or newer.pk == application.guideline_version_id
        or not newer.applies_to_pending
    ):
        return None
    return newer


@transaction.atomic
def application_rebase(*, application_id: int, by: User, reason: str) -> GrantApplication:
    """Re-base a pending case on the programme's newer guideline version, with a logged reason.

    Only submitted or checked cases (the approval fixes the version, § 43 VwVfG), only on a version whose
    transitional rule lets it apply to pending cases; a checked case must pass the check under it too.
    The grant is recomputed; the reason is kept as an internal note, the change in the case's history.
    """
    application = _lock(application_id)
    if not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    decision = decide(by, "rebase", application)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    if application.state not in PENDING_STATES:
        raise DomainError(
            _(
                "Im Status „%(state)s“ gilt die Fassung der Förderrichtlinie fest; umstellen lässt sich nur ein "
                "eingereichter oder geprüfter Antrag."
            )
            % {"state": application.get_state_display()}
        )
    target = rebase_target(application)
    if target is None:
        raise DomainError(_("Es gibt keine neuere Fassung der Förderrichtlinie, die auch für anhängige Anträge gilt."))
    reason = _require_comment(reason, _("Bitte begründen Sie die Umstellung auf die neue Fassung."))
    before = application.guideline_version
    application.guideline_version = target
    application.store_computation(application.compute())
    if application.state == State.CHECKED:
        problems = check_problems(application)
        if problems:
            raise DomainError([_("Unter der neuen Fassung besteht der Antrag die Prüfung nicht:"), *problems])
    application.save()
    InternalNote.objects.create(
        application=application,
        author=by,
        text=_("Auf Fassung %(new)s der Förderrichtlinie umgestellt (vorher Fassung %(old)s): %(reason)s")
        % {"new": target.number, "old": before.number if before else "–", "reason": reason},
    )
    return application


# --- notices: sending, finality, waiver, objection or lawsuit (grants.finality) ----------------------


def _locked_notice(application: GrantApplication, letter_id: int) -> Notice:
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("letter__application__programme__municipality")
        .filter(letter_id=letter_id, letter__application=application)
        .first()
    )
    if notice is None:
        raise DomainError(_("Bescheid nicht gefunden."), code=Code.NOT_FOUND)
    return notice


def _notice_for(application_id: int, letter_id: int, by: User, action: str) -> Notice:
    application = _lock(application_id)
    _ensure_allowed(by, action, application)
    return _locked_notice(application, letter_id)


def _sent_already(notice: Notice) -> DomainError:
    return DomainError(
        _("Der Versand ist schon erfasst: %(via)s am %(date)s.")
        % {"via": notice.get_sent_via_display(), "date": f"{notice.sent_on:%d.%m.%Y}"}
    )


def _day_problems(day: date | None, *, not_before: date, before_words: str) -> list[str]:
    if day is None:
        return [_("Bitte geben Sie das Datum an.")]
    if day > today():
        return [_("Das Datum liegt in der Zukunft.")]
    if day < not_before:
        return [before_words]
    return []


@transaction.atomic
def notice_record_sending(*, application_id: int, letter_id: int, by: User, sent_on: date | None) -> Notice:
    """Staff record the day a notice was posted (Aufgabe zur Post); e-mail and portal record themselves."""
    notice = _notice_for(application_id, letter_id, by, "record_sending")
    problems = _day_problems(
        sent_on,
        not_before=timezone.localdate(notice.letter.created_at),
        before_words=_("Der Bescheid kann nicht vor seiner Erstellung versandt worden sein."),
    )
    if problems:
        raise DomainError(problems, code=Code.INVALID)
    if notice.sent_on is not None:
        raise _sent_already(notice)
    assert sent_on is not None
    return mark_sent(notice, via=Notice.Via.POST, on=sent_on, by=by)


@transaction.atomic
def notice_downloaded(*, letter_id: int, by: User) -> Notice | None:
    """The owner downloads a notice in the portal: the first time is kept; unsent, it is notified by retrieval.

    § 41 (2a) VwVfG: retrieved, the notice counts as notified on the day after the retrieval. Staff downloading
    it change nothing.
    """
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("letter__application__programme__municipality", "letter__application__applicant")
        .filter(letter_id=letter_id)
        .first()
    )
    if notice is None or not is_owner(by, notice.letter.application) or notice.first_downloaded_at is not None:
        return notice
    notice.first_downloaded_at = timezone.now()
    if notice.sent_on is None:
        return mark_sent(notice, via=Notice.Via.PORTAL, on=timezone.localdate(notice.first_downloaded_at), by=None)
    notice.save(update_fields=["first_downloaded_at"])
    return notice


def _waive(notice: Notice, *, on: date | None, by: User) -> Notice:
    if notice.sent_on is None:
        raise DomainError(
            _("Der Bescheid ist noch nicht versandt; auf Rechtsbehelfe kann erst danach verzichtet werden.")
        )
    problems = _day_problems(
        on, not_before=notice.sent_on, before_words=_("Der Verzicht kann nicht vor dem Versand eingegangen sein.")
    )
    if problems:
        raise DomainError(problems, code=Code.INVALID)
    assert on is not None
    appeals = list(notice.appeals.values_list("outcome", flat=True))
    if notice.waiver_on is not None:
        raise DomainError(
            _("Der Rechtsbehelfsverzicht ist schon erfasst (eingegangen am %(date)s).")
            % {"date": f"{notice.waiver_on:%d.%m.%Y}"}
        )
    if Appeal.Outcome.PENDING in appeals:
        raise DomainError(
            _("Gegen den Bescheid ist ein Rechtsbehelf anhängig; er wäre zurückzunehmen, nicht zu verzichten.")
        )
    if Appeal.Outcome.GRANTED in appeals:
        raise DomainError(_("Einem Rechtsbehelf gegen den Bescheid ist stattgegeben worden."))
    if notice.final_on is not None and notice.final_on <= on:
        raise DomainError(
            _("Der Bescheid ist seit dem %(date)s bestandskräftig.") % {"date": f"{notice.final_on:%d.%m.%Y}"}
        )
    notice.waiver_on, notice.waiver_by = on, by
    return notice_refresh(notice)


@transaction.atomic
def notice_record_waiver(*, application_id: int, letter_id: int, by: User, received_on: date | None) -> Notice:
    """Staff record a waiver of appeal (Rechtsbehelfsverzicht) with the day it was received: final that day."""
    notice = _notice_for(application_id, letter_id, by, "record_waiver")
    return _waive(notice, on=received_on, by=by)


@transaction.atomic
def notice_record_remedy_defect(*, application_id: int, letter_id: int, by: User, defect: str) -> Notice:
    """Staff record that the notice's legal remedy notice is wrong: the deadline is a year (§ 58 (2) VwGO).

    A wrong remedy notice counts as a missing one, also once the month has run: finality moves to the end of the year
    after notification. A new notice with a correct remedy notice is the way to a month again.
    """
    notice = _notice_for(application_id, letter_id, by, "record_remedy_defect")
    defect = (defect or "").strip()
    if not defect:
        raise DomainError(
            _("Bitte beschreiben Sie, was an der Rechtsbehelfsbelehrung unrichtig ist."), code=Code.INVALID
        )
    if len(defect) > COMMENT_MAX_LENGTH:
        raise DomainError(
            _("Die Beschreibung ist zu lang (höchstens %(max)s Zeichen).") % {"max": COMMENT_MAX_LENGTH},
            code=Code.INVALID,
        )
    if not notice.remedy_notice:
        raise DomainError(
            _("Für diesen Bescheid gilt schon die Jahresfrist: %(why)s")
            % {"why": notice.remedy_defect or _("Er hat keine Rechtsbehelfsbelehrung.")}
        )
    notice.remedy_notice, notice.remedy_defect = False, defect
    if notice.notified_on is not None:
        state = state_of(notice)
        notice.appeal_deadline = finality.appeal_deadline(notice.notified_on, state, remedy_notice=False)
    return notice_refresh(notice)


@transaction.atomic
def notice_waive(*, application_id: int, letter_id: int, by: User, confirmed: bool) -> Notice:
    """The owner waives any objection or lawsuit in the portal, having confirmed it: final today."""
    notice = _notice_for(application_id, letter_id, by, "waive_appeal")
    if not confirmed:
        raise DomainError(
            _("Bitte bestätigen Sie, dass Sie auf Widerspruch und Klage gegen diesen Bescheid verzichten."),
            code=Code.INVALID,
        )
    return _waive(notice, on=today(), by=by)


@transaction.atomic
def appeal_record(
    *,
    application_id: int,
    letter_id: int,
    by: User,
    kind: str,
    received_on: date | None,
    grounds: str,
    court: str = "",
) -> Appeal:
    """An objection (where the municipality has the procedure) or a lawsuit (with its court) against a notice."""
    notice = _notice_for(application_id, letter_id, by, "record_appeal")
    municipality = notice.letter.application.programme.municipality
    problems = []
    if kind not in Appeal.Kind.values:
        problems.append(_("Bitte wählen Sie Widerspruch oder Klage."))
    court = (court or "").strip()
    if kind == Appeal.Kind.LAWSUIT and not court:
        problems.append(_("Bitte geben Sie das Gericht der Klage an."))
    if not (grounds or "").strip():
        problems.append(_("Bitte geben Sie die Begründung an (oder „noch nicht begründet“)."))
    problems += _day_problems(
        received_on,
        not_before=notice.sent_on or date.min,
        before_words=_("Der Rechtsbehelf kann nicht vor dem Versand des Bescheids eingegangen sein."),
    )
    if problems:
        raise DomainError(problems, code=Code.INVALID)
    if kind == Appeal.Kind.OBJECTION and not municipality.objection_procedure:
        raise DomainError(
            _("Gegen Bescheide der Kommune findet kein Widerspruchsverfahren statt; erfassen Sie die Klage.")
        )
    if notice.sent_on is None:
        raise DomainError(_("Bitte erfassen Sie zuerst den Versand des Bescheids."))
    if notice.waiver_on is not None:
        raise DomainError(
            _("Auf Rechtsbehelfe gegen diesen Bescheid ist am %(date)s verzichtet worden.")
            % {"date": f"{notice.waiver_on:%d.%m.%Y}"}
        )
    outcomes = set(notice.appeals.values_list("outcome", flat=True))
    if Appeal.Outcome.PENDING in outcomes:
        raise DomainError(_("Gegen diesen Bescheid ist schon ein Rechtsbehelf anhängig."))
    if Appeal.Outcome.GRANTED in outcomes:
        raise DomainError(_("Einem Rechtsbehelf gegen diesen Bescheid ist schon stattgegeben worden."))
    assert received_on is not None
    appeal = Appeal.objects.create(
        application=notice.letter.application,
        notice=notice,
        kind=kind,
        court=court if kind == Appeal.Kind.LAWSUIT else "",
        received_on=received_on,
        grounds=grounds.strip(),
        recorded_by=by,
    )
    notice_refresh(notice)
    return appeal


DECIDED_OUTCOMES = tuple(o for o in Appeal.Outcome.values if o != Appeal.Outcome.PENDING)


@transaction.atomic
def appeal_decide(
    *, application_id: int, appeal_id: int, by: User, outcome: str, decided_on: date | None, notes: str = ""
) -> Appeal:
    """The outcome of an objection (Widerspruchsbescheid, Abhilfe, Rücknahme) or a lawsuit, with its day."""
    application = _lock(application_id)
    _ensure_allowed(by, "decide_appeal", application)
    appeal = Appeal.objects.select_for_update(of=("self",)).filter(pk=appeal_id, application=application).first()
    if appeal is None:
        raise DomainError(_("Rechtsbehelf nicht gefunden."), code=Code.NOT_FOUND)
    problems = [] if outcome in DECIDED_OUTCOMES else [_("Bitte wählen Sie das Ergebnis.")]
    problems += _day_problems(
        decided_on,
        not_before=appeal.received_on,
        before_words=_("Die Entscheidung kann nicht vor dem Eingang des Rechtsbehelfs liegen."),
    )
    if problems:
        raise DomainError(problems, code=Code.INVALID)
    if appeal.outcome != Appeal.Outcome.PENDING:
        raise DomainError(
            _("Über diesen Rechtsbehelf ist schon entschieden: %(outcome)s.")
            % {"outcome": appeal.get_outcome_display()}
        )
    appeal.outcome, appeal.decided_on, appeal.decided_by = outcome, decided_on, by
    appeal.decision_notes = (notes or "").strip()
    appeal.save()
    notice_refresh(_locked_notice(application, appeal.notice.letter_id))
    return appeal
