"""The commitment period (Zweckbindungsfrist): its dates, inspections on site, the owner's report of a sale.

The final payment fixes the period: from the completion the accepted proof of use states (else the day of the
payment) for the ``commitment_years`` of the notice's guideline version; by § 31 (1) VwVfG with §§ 187 (1), 188 (2)
and (3) BGB it ends on the day of the last year that corresponds by its date to the start (29 February: the 28th).
During the period the caseworker records inspections (day, finding, notes, photos); a finding other than "without
objection" opens a revocation case with its hearing at once, the amount intended pro rata for the years left. The
owner reports a sale or change of use in the portal; the case then waits in the caseworker's queue, and the
revocation form starts from the report. After the end, with no revocation, the commitment counts as fulfilled.
Each function is the service of one step of grants.steps (grants.services._run).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import User
from core.errors import Code, DomainError

from .models import DESCRIPTION_MAX_LENGTH, Document, GrantApplication, Inspection, Revocation, SaleReport
from .services import _ensure_allowed, _files_undone_on_failure, _lock, _run, _serves, today

State = GrantApplication.State
Finding = Inspection.Finding

# What a finding other than "without objection" gives as the reason of the revocation case it opens.
FINDING_REASON = {
    Finding.DEFECT: Revocation.Reason.PURPOSE,
    Finding.USE: Revocation.Reason.SALE,
    Finding.SALE: Revocation.Reason.SALE,
}
MAX_PHOTOS = 10


def commitment_end(start: date, years: int) -> date:
    """The last day of a period of ``years`` from the event on ``start`` (§ 188 (2), (3) BGB)."""
    return start + relativedelta(years=years)


def commitment_start(application: GrantApplication, paid_on: date) -> date:
    """Completion as the accepted proof of use states it; without one, the day of the final payment."""
    proof = application.proofs.filter(outcome="accepted").order_by("-decided_at", "-id").first()
    return proof.completed_on if proof is not None else paid_on


def set_commitment(application: GrantApplication, paid_on: date) -> None:
    """Fix the period on the final payment (grants.services.application_pay; saved with the step)."""
    start = commitment_start(application, paid_on)
    application.commitment_from = start
    application.commitment_until = commitment_end(start, application.terms().commitment_years)


def pro_rata(application: GrantApplication, on: date) -> Decimal:
    """The part of the grant for the days of the period left after ``on``, rounded down to the cent.

    The usual measure of a partial revocation after a sale (the grant kept for the years the purpose was served).
    """
    grant = application.approved_grant or Decimal("0.00")
    start, end = application.commitment_from, application.commitment_until
    if start is None or end is None or on >= end:
        return Decimal("0.00")
    total = (end - start).days
    left = (end - max(on, start)).days
    return (grant * left / total).quantize(Decimal("0.01"), rounding=ROUND_DOWN) if total > 0 else grant


@dataclass(frozen=True)
class Year:
    """Where a case stands in its period on a day: in year ``number`` of ``of``, that year beginning on ``began``."""

    number: int
    of: int
    began: date


def year_of_period(application: GrantApplication, on: date) -> Year | None:
    start, end = application.commitment_from, application.commitment_until
    if start is None or end is None or on < start:
        return None
    years = relativedelta(end, start).years
    number = min(relativedelta(on, start).years, years)
    return Year(number=number + 1, of=years, began=start + relativedelta(years=number))


def _text(value: str, *, limit: int = DESCRIPTION_MAX_LENGTH) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise DomainError(
            _("Bitte fassen Sie sich kürzer: höchstens %(limit)s Zeichen.") % {"limit": limit}, code=Code.INVALID
        )
    return value


@_serves("record_inspection")
@transaction.atomic
def inspection_record(
    *,
    application_id: int,
    by: User,
    inspected_on: date | None,
    finding: str,
    notes: str = "",
    photos: Iterable = (),
) -> Inspection:
    """Vor-Ort-Kontrolle erfassen; a finding other than "ohne Beanstandung" opens the revocation case with its hearing.

    The photos are kept all or none. The hearing's deadline is the default (four weeks), the amount intended the part
    of the grant for the period left after the inspection; the caseworker can close the case if the hearing clears it.
    """
    from . import revocations  # the revocation steps sit beside this module and import services as it does

    application = _lock(application_id)
    _ensure_allowed(by, "record_inspection", application)
    problems, conflicts = [], []
    photos = list(photos)
    if finding not in Finding.values:
        problems.append(_("Bitte wählen Sie den Befund."))
    try:
        notes = _text(notes)
    except DomainError as error:
        problems.extend(error.reasons)
    if finding in Finding.values and finding != Finding.OK and not notes:
        problems.append(_("Bitte beschreiben Sie, was beanstandet wird."))
    if len(photos) > MAX_PHOTOS:
        problems.append(_("Höchstens %(count)s Fotos je Kontrolle.") % {"count": MAX_PHOTOS})
    on = today()
    if inspected_on is None:
        problems.append(_("Bitte geben Sie den Tag der Kontrolle an."))
    elif inspected_on > on:
        conflicts.append(_("Der Tag der Kontrolle liegt in der Zukunft."))
    elif application.commitment_from and inspected_on < application.commitment_from:
        conflicts.append(
            _("Kontrolliert wird in der Zweckbindungsfrist; sie begann am %(day)s.")
            % {"day": f"{application.commitment_from:%d.%m.%Y}"}
        )
    if problems:
        raise DomainError(problems + conflicts, code=Code.INVALID)
    if conflicts:
        raise DomainError(conflicts)
    inspection = Inspection.objects.create(
        application=application, inspected_on=inspected_on, finding=finding, notes=notes, recorded_by=by
    )
    with _files_undone_on_failure() as store:
        try:
            for file in photos:
                inspection.photos.add(store(application, by=by, kind=Document.Kind.INSPECTION, file=file))
        except ValidationError as refused:  # a file refused by its content or size: nothing is kept
            raise DomainError(refused.messages, code=Code.INVALID) from None
        _run(application, "record_inspection", by=by, comment=notes[:300])
        if finding != Finding.OK and application.open_revocation_id is None:
            inspection.revocation = revocations.revocation_open(
                application_id=application.pk,
                by=by,
                reason=FINDING_REASON[Finding(finding)],
                facts=_("Vor-Ort-Kontrolle am %(day)s: %(finding)s. %(notes)s")
                % {"day": f"{inspected_on:%d.%m.%Y}", "finding": Finding(finding).label, "notes": notes},
                hearing_deadline=revocations.hearing_default(on),
                intended_amount=pro_rata(application, inspected_on),  # type: ignore[arg-type]  # checked above
            )
            inspection.save(update_fields=["revocation"])
    return inspection


@_serves("report_sale")
@transaction.atomic
def sale_report(
    *,
    application_id: int,
    by: User,
    sold_on: date | None,
    buyer: str,
    buyer_continues: bool = False,
    notes: str = "",
) -> SaleReport:
    """The owner reports a sale or change of use in the commitment period (Nr. 5 ANBest-P: a duty to notify).

    The case waits in the caseworker's queue until a revocation case takes the report up (grants.revocations).
    """
    application = _lock(application_id)
    _ensure_allowed(by, "report_sale", application)
    problems, conflicts = [], []
    buyer = (buyer or "").strip()
    if not buyer:
        problems.append(_("Bitte nennen Sie die Erwerber/in oder die neue Nutzung."))
    elif len(buyer) > 200:
        problems.append(_("Bitte fassen Sie sich kürzer: höchstens %(limit)s Zeichen.") % {"limit": 200})
    try:
        notes = _text(notes)
    except DomainError as error:
        problems.extend(error.reasons)
    if sold_on is None:
        problems.append(_("Bitte geben Sie den Tag der Veräußerung oder Umnutzung an."))
    elif application.commitment_from and sold_on < application.commitment_from:
        conflicts.append(
            _("Die Zweckbindungsfrist begann am %(day)s; eine frühere Veräußerung berührt sie nicht.")
            % {"day": f"{application.commitment_from:%d.%m.%Y}"}
        )
    elif sold_on > today() + relativedelta(years=1):
        conflicts.append(_("Bitte melden Sie eine Veräußerung, die im nächsten Jahr ansteht oder geschehen ist."))
    if problems:
        raise DomainError(problems + conflicts, code=Code.INVALID)
    if conflicts:
        raise DomainError(conflicts)
    report = SaleReport.objects.create(
        application=application, sold_on=sold_on, buyer=buyer, buyer_continues=bool(buyer_continues), notes=notes,
        reported_by=by,
    )  # fmt: skip
    # After the transition: its condition is that no report waits, which this one now does.
    _run(application, "report_sale", by=by, comment=buyer, then={"sale_reported_at": report.reported_at})
    return report


def pending_sale(application: GrantApplication) -> SaleReport | None:
    """The owner's report a revocation case has not taken up yet."""
    if application.sale_reported_at is None:
        return None
    return application.sale_reports.filter(revocation__isnull=True).order_by("-reported_at", "-id").first()


def revocation_from_sale(application: GrantApplication, on: date) -> dict:
    """The revocation form's start from a pending report: reason, facts and the pro-rata amount."""
    report = pending_sale(application)
    if report is None:
        return {}
    facts = _("Gemeldet am %(reported)s: veräußert oder umgenutzt am %(sold)s an/als %(buyer)s.") % {
        "reported": f"{timezone.localdate(report.reported_at):%d.%m.%Y}",
        "sold": f"{report.sold_on:%d.%m.%Y}",
        "buyer": report.buyer,
    }
    if report.buyer_continues:
        facts += " " + _("Die Erwerber/in will die Zweckbindung übernehmen.")
    if report.notes:
        facts += " " + report.notes
    return {
        "reason": Revocation.Reason.SALE,
        "facts": facts,
        "intended_amount": pro_rata(application, min(report.sold_on, on)),
    }


def take_up_sale(application: GrantApplication, revocation: Revocation) -> None:
    """A revocation case opened while a report waits takes it up (grants.revocations.revocation_open)."""
    if application.sale_reported_at is None:
        return
    application.sale_reports.filter(revocation__isnull=True).update(revocation=revocation)
    application.sale_reported_at = None
    application.save(update_fields=["sale_reported_at"])
