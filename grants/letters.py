"""Letters: the case's data in the municipality's wording, rendered once as PDF/A-3b and kept.

A letter is identified by a key (e.g. ``approval:log-42`` for the approval logged as entry 42),
so generating it again — a retried task, a batch run — returns the letter already made.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template import Context
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import HTML

from .calculator import Bound
from .letter_defaults import DEFAULTS, SIGNATORY
from .models import (
    DEMINIMIS,
    NOTICE_KINDS,
    ChangeRequest,
    DeadlineExtension,
    DeminimisRegulation,
    GrantApplication,
    Letter,
    LetterBatch,
    LetterKind,
    LetterTemplate,
    MeasureKind,
    Notice,
    Revocation,
)
from .steps import LETTER_FOR_TRANSITION
from .wording import WORDING_ENGINE


@dataclass(frozen=True)
class Wording:
    letterhead: str
    subject: str
    body: str
    signatory: str
    legal_remedy_notice: str


def wording_for(application: GrantApplication, kind: str) -> Wording:
    """The programme's template, else the municipality's, else the German default."""
    programme = application.programme
    templates = {
        (t.programme_id is not None): t
        for t in LetterTemplate.objects.filter(municipality=programme.municipality_id, kind=kind)
        if t.programme_id in (None, programme.pk)
    }
    chosen = templates.get(True) or templates.get(False)
    if chosen:
        return Wording(chosen.letterhead, chosen.subject, chosen.body, chosen.signatory, chosen.legal_remedy_notice)
    default = DEFAULTS[LetterKind(kind)]
    return Wording("", default["subject"], default["body"], SIGNATORY, default["legal_remedy_notice"])


def letter_context(application: GrantApplication, *, comment: str = "") -> dict:
    computation = application.computation or {}
    partial_paid = sum((p.amount for p in application.partial_payments.all()), Decimal("0.00"))
    released = None
    if application.paid_amount is not None and application.approved_grant is not None:
        released = application.approved_grant - application.paid_amount
    return {
        "application": application,
        "guideline": application.terms(),
        "applicant": application.applicant,
        "property": application.property,
        "programme": application.programme,
        "municipality": application.programme.municipality,
        "today": timezone.localdate(),
        "comment": comment,
        "bound_by": Bound(computation["bound_by"]).label if computation.get("bound_by") else "",
        "components": [
            {
                "label": MeasureKind(c["kind"]).label,
                "area_m2": next((m.area_m2 for m in application.components.all() if m.kind == c["kind"]), None),
                "eligible": c["eligible"],
                "grant": c["grant"],
                "bound_by": Bound(c["bound_by"]).label,
            }
            for c in computation.get("components", [])
        ],
        "released_amount": released,
        "extension": _last_extension(application),
        "change": _last_change(application),
        "partial": _last_partial_payment(application),
        "revocation": _last_revocation(application),
        "partial_paid": partial_paid,
        "final_transfer": application.paid_amount - partial_paid if application.paid_at and partial_paid else None,
        "deminimis": _deminimis(application),
    }


def _deminimis(application: GrantApplication) -> dict | None:
    """What the approval notice and the certificate say of de-minimis aid; None for a case that is none."""
    if not application.is_deminimis() or not application.deminimis_regulation:
        return None
    rules = DEMINIMIS[application.deminimis_regulation]
    return {
        "regulation": DeminimisRegulation(application.deminimis_regulation).label,
        "title": rules.title,
        "journal": rules.journal,
        "ceiling": application.deminimis_ceiling or rules.ceiling,
        "granted_on": timezone.localdate(application.approved_at) if application.approved_at else None,
        "reduction_reason": application.deminimis_reduction_reason,
        "identifier": application.applicant.identifier,
        "nace": application.applicant.nace_code,
    }


def _last_extension(application: GrantApplication) -> dict | None:
    """The case's latest decided deadline extension, for the letters that decide one."""
    extension = (
        application.extensions.exclude(outcome=DeadlineExtension.Outcome.OPEN).order_by("-decided_at", "-id").first()
    )
    if extension is None:
        return None
    return {
        "requested_at": extension.requested_at,
        "completion_deadline_before": extension.completion_deadline_before,
        "invoice_deadline_before": extension.invoice_deadline_before,
        "completion_deadline": extension.completion_deadline,
        "invoice_deadline": extension.invoice_deadline,
    }


def _last_partial_payment(application: GrantApplication) -> dict | None:
    """The case's latest partial payment with the invoices it paid against, for its letter."""
    payment = application.partial_payments.order_by("-number").first()
    if payment is None:
        return None
    return {
        "number": payment.number,
        "amount": payment.amount,
        "invoices": list(payment.invoices.order_by("issued_on", "id")),
        "percent": application.programme.partial_payment_percent,
    }


def _last_revocation(application: GrantApplication) -> dict | None:
    """The case's latest revocation case, for its hearing, decision, closing and reminder letters."""
    from .revocations import account_text

    revocation = application.revocations.order_by("-opened_at", "-id").first()
    if revocation is None:
        return None
    outcome = Revocation.Outcome
    decided = revocation.outcome not in (outcome.OPEN, outcome.CLOSED, outcome.ENDED)
    at_due = account_text(revocation, on=revocation.due_on) if decided and revocation.due_on else {}
    titles = {
        outcome.WITHDRAWN: "Rücknahmebescheid mit Erstattung",
        outcome.INTEREST: "Zinsbescheid (§ 49a Abs. 4 VwVfG)",
    }
    return {
        "title": titles.get(revocation.outcome, "Widerrufsbescheid mit Erstattung"),
        "reason": revocation.get_reason_display(),
        "facts": revocation.facts,
        "intended_amount": revocation.intended_amount,
        "intended_full": revocation.intended_amount == (revocation.grant_before or application.approved_grant),
        "grant": application.approved_grant,
        "paid": application.paid_amount or Decimal("0.00"),
        "opened_at": revocation.opened_at,
        "hearing_deadline": revocation.hearing_deadline,
        "answered": revocation.answered_at is not None,
        "answered_at": revocation.answered_at,
        "decided_at": revocation.decided_at,
        "interest_only": revocation.outcome == outcome.INTEREST,
        "withdrawal": revocation.outcome == outcome.WITHDRAWN,
        "full": revocation.full,
        "grant_before": revocation.grant_before,
        "revoked_amount": revocation.revoked_amount,
        "remaining": revocation.remaining_grant,
        "effective_from": revocation.effective_from,
        "paid_before": revocation.paid_before,
        "principal": revocation.principal,
        "interest_waived": revocation.interest_waived,
        "late_use_amount": revocation.late_use_amount,
        "late_use_from": revocation.late_use_from,
        "late_use_until": revocation.late_use_until,
        "late_use_interest": revocation.late_use_interest,
        "due_on": revocation.due_on,
        "interest_first": application.programme.repayment_order == "interest_first",
        "account": account_text(revocation) if decided else {},
        "interest_at_due": at_due.get("interest_open"),
    }


def _last_change(application: GrantApplication) -> dict | None:
    """The case's latest decided change request, for the letters that decide one: what changed, old and new."""
    change = application.changes.exclude(outcome=ChangeRequest.Outcome.OPEN).order_by("-decided_at", "-id").first()
    if change is None:
        return None
    return {
        "requested_at": change.requested_at,
        "reason": change.reason,
        "measures": change.rows(),
        "grant_before": change.grant_before,
        "grant": change.grant,
        "deadlines_change": change.deadlines_change,
        "completion_deadline_before": change.completion_deadline_before,
        "invoice_deadline_before": change.invoice_deadline_before,
        "completion_deadline": change.completion_deadline,
        "invoice_deadline": change.invoice_deadline,
    }


WORDING_FIELDS = {
    "application": ("file_number", "description", "submitted_at", "total_costs", "eligible_costs", "computed_grant",
                    "approved_grant", "approved_at", "budget_year", "completion_deadline", "invoice_deadline",
                    "paid_amount", "paid_at"),
    "applicant": ("name", "organisation", "street", "house_number", "postcode", "city", "email", "iban"),
    "property": ("address", "street", "house_number", "postcode", "city", "cadastral_district", "cadastral_sheet",
                 "parcel", "building"),
    "programme": ("name", "code", "funding_rate_percent", "property_cap", "commitment_years", "completion_months",
                  "invoice_months"),
    "municipality": ("name", "official_name", "address"),
    "guideline": ("number", "valid_from", "reason", "funding_rate_percent", "property_cap", "commitment_years"),
}  # fmt: skip
# Terms a wording written before guideline versions reads as programme.*: they come from the case's version.
TERMS_AS_PROGRAMME = {"funding_rate_percent", "property_cap", "commitment_years"}
# Fields a letter shows only in part: an IBAN with its last four characters (a letter goes by post, is forwarded).
MASKED = {("applicant", "iban"): "iban_masked"}


def _wording_context(context: dict) -> dict:
    plain = {key: value for key, value in context.items() if key not in WORDING_FIELDS}
    for key, fields in WORDING_FIELDS.items():
        plain[key] = {
            field: getattr(
                context["guideline"] if key == "programme" and field in TERMS_AS_PROGRAMME else context[key],
                MASKED.get((key, field), field),
            )
            for field in fields
        }
    return plain


def _render(text: str, context: dict) -> str:
    template = WORDING_ENGINE.from_string("{% load formatting %}" + text)
    return template.render(Context(_wording_context(context), autoescape=False)).strip()


def letter_html(application: GrantApplication, kind: str, *, comment: str = "") -> tuple[str, str]:
    """Subject and HTML of a letter, in German whatever language the request had."""
    subject, html, _remedy = _letter_parts(application, kind, comment=comment)
    return subject, html


def _letter_parts(application: GrantApplication, kind: str, *, comment: str = "") -> tuple[str, str, str]:
    """Subject, HTML and the legal remedy notice (as rendered; "" if the wording has none) of a letter."""
    with translation.override("de"):
        wording = wording_for(application, kind)
        context = letter_context(application, comment=comment)
        subject = _render(wording.subject, context)
        remedy = _render(wording.legal_remedy_notice, context)
        html = render_to_string(
            "letters/letter.html",
            {
                **context,
                "subject": subject,
                "letterhead": _render(wording.letterhead, context),
                "body": _render(wording.body, context),
                "signatory": _render(wording.signatory, context),
                "legal_remedy_notice": remedy,
                # The notice names the guideline version it applied (its legal basis); the wording cannot drop it.
                "legal_basis": kind == LetterKind.APPROVAL,
            },
        )
    return subject, html, remedy


def render_letter(application: GrantApplication, kind: str, *, comment: str = "") -> tuple[str, bytes]:
    """Subject and PDF/A-3b bytes of a letter, in German whatever language the request had."""
    subject, html = letter_html(application, kind, comment=comment)
    return subject, HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")


def remedy_notice_of(application: GrantApplication, kind: str, *, comment: str = "") -> str:
    """The legal remedy notice a letter carries, as rendered; "" where its wording has none."""
    with translation.override("de"):
        return _render(wording_for(application, kind).legal_remedy_notice, letter_context(application, comment=comment))


def letter_ensure(
    *, application_id: int, kind: str, key: str, comment: str = "", by=None, corrects: Letter | None = None
) -> tuple[Letter, bool]:
    """Generate the letter with this key once; a second call returns the first letter."""
    existing = Letter.objects.filter(key=key).first()
    if existing:
        return existing, False
    stored: list[Letter] = []
    try:
        with transaction.atomic():
            # The application row serialises two workers making the same letter.
            application = (
                GrantApplication.objects.select_for_update(of=("self",))
                .select_related("programme__municipality", "applicant", "property")
                .get(pk=application_id)
            )
            existing = Letter.objects.filter(key=key).first()
            if existing:
                return existing, False
            subject, pdf = render_letter(application, kind, comment=comment)
            # A notice's finality depends on whether it carries a remedy notice (§ 58 VwGO): read it once, here.
            remedy = remedy_notice_of(application, kind, comment=comment) if kind in NOTICE_KINDS else ""
            letter = Letter(
                application=application,
                kind=kind,
                key=key,
                subject=subject[:300],
                sha256=hashlib.sha256(pdf).hexdigest(),
                created_by=by,
                corrects=corrects,
            )
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            letter.file.save(
                f"{kind}-{application.file_number or application.pk}-{stamp}.pdf", ContentFile(pdf), save=False
            )
            stored.append(letter)
            letter.save()
            if kind in NOTICE_KINDS:
                Notice.objects.create(letter=letter, remedy_notice=bool(remedy))
            return letter, True
    except IntegrityError:
        _forget_files(stored)
        return Letter.objects.get(key=key), False
    except Exception:
        _forget_files(stored)
        raise


def _forget_files(letters: list[Letter]) -> None:
    # The PDF is written before its row; a row that was rolled back must not leave its file behind.
    for letter in letters:
        letter.file.storage.delete(letter.file.name)


def letters_make_missing(application: GrantApplication) -> int:
    """Make every letter the application's history calls for and does not have yet; returns how many."""
    from django_fsm_log.models import StateLog

    created = 0
    for log in StateLog.objects.for_(application).filter(transition__in=LETTER_FOR_TRANSITION).order_by("pk"):
        kind = LETTER_FOR_TRANSITION[log.transition]
        _, made = letter_ensure(
            application_id=application.pk,
            kind=kind,
            key=f"{kind}:log-{log.pk}",
            comment=log.description or "",
            by=log.by,
        )
        created += made
        created += certificate_ensure(application, kind=kind, log=log)[1]
    return created


def certificate_ensure(application: GrantApplication, *, kind: str, log) -> tuple[Letter | None, bool]:
    """The De-minimis-Bescheinigung that goes with the approval notice of a de-minimis case (once per approval)."""
    if kind != LetterKind.APPROVAL or not application.is_deminimis():
        return None, False
    return letter_ensure(
        application_id=application.pk,
        kind=LetterKind.DEMINIMIS_CERTIFICATE,
        key=f"{LetterKind.DEMINIMIS_CERTIFICATE}:log-{log.pk}",
        by=log.by,
    )


def letter_batch_run(*, batch_id: int) -> LetterBatch:
    from django.db.models import F

    LetterBatch.objects.filter(pk=batch_id).update(status=LetterBatch.Status.RUNNING)
    batch = LetterBatch.objects.get(pk=batch_id)
    for application in batch.applications.select_related("programme__municipality", "applicant", "property"):
        try:
            made = letters_make_missing(application)
        except Exception as error:  # one broken template must not stop the other cases
            batch.failures = [*batch.failures, f"{application}: {error}"]
            LetterBatch.objects.filter(pk=batch_id).update(failures=batch.failures, done=F("done") + 1)
            continue
        LetterBatch.objects.filter(pk=batch_id).update(done=F("done") + 1, created_letters=F("created_letters") + made)
    LetterBatch.objects.filter(pk=batch_id).update(status=LetterBatch.Status.DONE)
    batch.refresh_from_db()
    return batch


def letter_correct(*, letter_id: int, by) -> Letter:
    """Berichtigung: a new letter of the same kind from today's data and wording; the old one stays as it was."""
    import uuid

    original = Letter.objects.select_related("application").get(pk=letter_id)
    from django_fsm_log.models import StateLog

    comment = ""
    if original.key.startswith(f"{original.kind}:log-"):
        log = StateLog.objects.filter(pk=original.key.rsplit("-", 1)[-1]).first()
        comment = (log.description or "") if log else ""
    letter, _ = letter_ensure(
        application_id=original.application_id,
        kind=original.kind,
        key=f"correction:{original.pk}:{uuid.uuid4().hex[:12]}",
        comment=comment,
        by=by,
        corrects=original,
    )
    return letter
