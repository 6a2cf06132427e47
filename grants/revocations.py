"""Revocation (Widerruf § 49, Rücknahme § 48 VwVfG) and reclaim with interest (§ 49a VwVfG), step by step.

A revocation case is opened for a reason with a hearing (Anhörung, § 28 VwVfG); the owner answers in the portal;
after the answer or the deadline a second person decides: the grant revoked or withdrawn in full or in part from a
day, only interest for late use (§ 49a (4)), or the case closed. What was paid beyond the grant left is reclaimed:
due on a day, reminded after it, and booked when it comes in — the principal as a RECLAIM per funding share (and the
commitment released with it, so that per share paid + released = committed stays exact), the interest apart, never
into the allocation. Each function is the service of one step of grants.steps, in one transaction with its ledger,
log, letter and e-mail (grants.services._run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import User
from budgets.interest import (
    Account,
    MissingBaseRate,
    Overpayment,
    Tranche,
    interest_49a,
    reclaim_account,
    tranches_of,
)
from budgets.models import LedgerEntry
from budgets.services import BudgetError, ledger_reclaim, ledger_release
from core.errors import Code, DomainError
from core.money import MAX_AMOUNT, format_amount

from .commitment import take_up_sale
from .models import DESCRIPTION_MAX_LENGTH, GrantApplication, Repayment, Revocation
from .services import _budget_year, _ensure_allowed, _lock, _release, _require_comment, _run, _serves, today
from .steps import STEPS

State = GrantApplication.State
Outcome = Revocation.Outcome

# § 28 VwVfG asks for an adequate time to answer; two weeks is the shortest this service lets staff set.
HEARING_MIN_DAYS = 14
HEARING_DEFAULT_WEEKS = 4
# "Alsbald nach der Auszahlung" (§ 49a (4) VwVfG), read as the ANBest-P's two months (Nr. 1.4).
LATE_USE_MONTHS = 2
# The repayment falls due a month after the decision unless staff set another day.
DUE_DEFAULT_MONTHS = 1


def hearing_default(on: date) -> date:
    return on + relativedelta(weeks=HEARING_DEFAULT_WEEKS)


def due_default(on: date) -> date:
    return on + relativedelta(months=DUE_DEFAULT_MONTHS)


def ensure_may(user: User, action: str, application: GrantApplication) -> None:
    """Whether ``user`` may take the revocation step now, as its service asks (for the pages before the form)."""
    _ensure_allowed(user, action, application)


def _open(application: GrantApplication) -> Revocation:
    revocation = application.open_revocation
    if revocation is None:  # the conditions say so first; no step may take it for granted
        raise DomainError(_("Zu diesem Antrag läuft kein Widerrufsverfahren."))
    return revocation


def _text(value: str, *, missing: str, limit: int = DESCRIPTION_MAX_LENGTH) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(missing, code=Code.INVALID)
    if len(value) > limit:
        raise DomainError(
            _("Bitte fassen Sie sich kürzer: höchstens %(limit)s Zeichen.") % {"limit": limit}, code=Code.INVALID
        )
    return value


def _refuse(problems: list[str], conflicts: list[str]) -> None:
    """Bad input is a 400; what only the case or today's date rules out (a limit, a day too early) is a 409."""
    if problems:
        raise DomainError(problems + conflicts, code=Code.INVALID)
    if conflicts:
        raise DomainError(conflicts)


def _amount(value, *, words: str, allow_zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise DomainError(
            _("%(what)s: bitte einen Betrag in Euro und Cent angeben.") % {"what": words}, code=Code.INVALID
        )
    if amount < 0 or (amount == 0 and not allow_zero) or amount > MAX_AMOUNT:
        raise DomainError(_("%(what)s: bitte einen positiven Betrag angeben.") % {"what": words}, code=Code.INVALID)
    return amount.quantize(Decimal("0.01"))


# --- opening: the hearing --------------------------------------------------------------------


@_serves("open_revocation")
@transaction.atomic
def revocation_open(
    *,
    application_id: int,
    by: User,
    reason: str,
    facts: str,
    hearing_deadline: date | None,
    intended_amount=None,
) -> Revocation:
    """Widerrufsverfahren eröffnen: reason, facts, the amount to be revoked, and the owner's time to answer.

    The hearing letter (§ 28 VwVfG) goes out with the step; nothing changes in the grant or the ledger yet.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "open_revocation", application)
    problems: list[str] = []
    conflicts: list[str] = []
    if reason not in Revocation.Reason.values:
        problems.append(_("Bitte wählen Sie den Grund des Widerrufs."))
    facts = (facts or "").strip()
    if not facts:
        problems.append(_("Bitte beschreiben Sie den Sachverhalt."))
    elif len(facts) > DESCRIPTION_MAX_LENGTH:
        problems.append(
            _("Der Sachverhalt ist zu lang: höchstens %(limit)s Zeichen.") % {"limit": DESCRIPTION_MAX_LENGTH}
        )
    earliest = today() + relativedelta(days=HEARING_MIN_DAYS)
    if hearing_deadline is None:
        problems.append(_("Bitte geben Sie die Frist zur Äußerung an."))
    elif hearing_deadline < earliest:
        conflicts.append(
            _("Die Frist zur Äußerung muss angemessen sein: frühestens der %(day)s (zwei Wochen).")
            % {"day": f"{earliest:%d.%m.%Y}"}
        )
    grant = application.approved_grant or Decimal("0.00")
    if intended_amount in (None, ""):
        intended = grant
    else:
        try:
            intended = _amount(intended_amount, words=_("Beabsichtigter Widerruf"), allow_zero=True)
        except DomainError as error:
            problems.extend(error.reasons)
            intended = grant
        if intended > grant:
            conflicts.append(
                _("Widerrufen werden kann höchstens der bewilligte Zuschuss von %(grant)s €.")
                % {"grant": format_amount(grant)}
            )
    _refuse(problems, conflicts)
    revocation = Revocation.objects.create(
        application=application,
        reason=reason,
        facts=facts,
        intended_amount=intended,
        opened_by=by,
        hearing_deadline=hearing_deadline,
    )
    # After the transition: its condition is that no revocation case is open, which this one now is.
    _run(application, "open_revocation", by=by, comment=facts[:300], then={"open_revocation": revocation})
    take_up_sale(application, revocation)  # an owner's report of a sale waiting for it
    return revocation


@_serves("answer_hearing")
@transaction.atomic
def hearing_answer(*, application_id: int, by: User, answer: str) -> Revocation:
    """The owner's answer in the hearing, through the portal; it goes with the case to the decision."""
    application = _lock(application_id)
    _ensure_allowed(by, "answer_hearing", application)
    answer = _text(answer, missing=_("Bitte schreiben Sie Ihre Äußerung."))
    revocation = _open(application)
    _run(application, "answer_hearing", by=by, comment="")
    # After the transition: its condition is that the hearing is not answered yet.
    revocation.answer = answer
    revocation.answered_at = timezone.now()
    revocation.save(update_fields=["answer", "answered_at"])
    return revocation


# --- the decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LateUse:
    amount: Decimal
    paid_on: date
    used_on: date


def late_use_interest(late: LateUse, *, rates=None) -> Decimal:
    """§ 49a (4) VwVfG: interest at the rate of (3) for the time from the payment until the money was used."""
    return interest_49a(late.amount, from_day=late.paid_on, until=late.used_on, rates=rates).total


def _late_use(application: GrantApplication, amount, paid_on, used_on, *, on: date) -> LateUse | None:
    if amount in (None, "") and paid_on is None and used_on is None:
        return None
    problems: list[str] = []
    conflicts: list[str] = []
    if paid_on is None or used_on is None:
        problems.append(
            _("Für Zinsen wegen verspäteter Verwendung braucht es den Tag der Auszahlung und der Verwendung.")
        )
    try:
        value = _amount(amount, words=_("Verspätet verwendeter Betrag"))
    except DomainError as error:
        problems.extend(error.reasons)
        value = Decimal("0.00")
    paid = application.paid_amount or Decimal("0.00")
    if value > paid:
        conflicts.append(
            _("Verspätet verwendet sein kann höchstens, was ausgezahlt ist: %(paid)s €.")
            % {"paid": format_amount(paid)}
        )
    if paid_on and used_on:
        if used_on > on:
            conflicts.append(_("Der Tag der Verwendung liegt in der Zukunft."))
        if used_on <= paid_on + relativedelta(months=LATE_USE_MONTHS):
            conflicts.append(
                _(
                    "Verwendet binnen zwei Monaten nach der Auszahlung ist alsbald verwendet: dafür gibt es keine "
                    "Zinsen (§ 49a Abs. 4 VwVfG)."
                )
            )
    _refuse(problems, conflicts)
    return LateUse(value, paid_on, used_on)  # type: ignore[arg-type]  # both checked above


@_serves("decide_revocation")
@transaction.atomic
def revocation_decide(
    *,
    application_id: int,
    by: User,
    outcome: str,
    revoked_amount=None,
    effective_from: date | None = None,
    due_on: date | None = None,
    interest_waived: bool = False,
    late_use_amount=None,
    late_use_from: date | None = None,
    late_use_until: date | None = None,
    comment: str = "",
) -> Revocation:
    """Über den Widerruf entscheiden (a second person, never whoever opened the case), after the hearing.

    ``outcome``: revoked (§ 49 (3)) or withdrawn (§ 48) by ``revoked_amount`` from ``effective_from``, or interest
    only for late use (§ 49a (4)). The grant falls by the amount; the commitment not paid is released per share;
    what was paid beyond the grant left is to be repaid by ``due_on`` (the notice sets it, § 49a (1) sentence 2).
    A revocation of the whole grant leaves the case revoked.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "decide_revocation", application)
    comment = _require_comment(comment, str(STEPS["decide_revocation"].comment_required))
    revocation = _open(application)
    on = today()
    grant = application.approved_grant or Decimal("0.00")
    paid = application.paid_amount or Decimal("0.00")
    problems: list[str] = []
    conflicts: list[str] = []
    if outcome not in (Outcome.REVOKED, Outcome.WITHDRAWN, Outcome.INTEREST):
        raise DomainError(
            _("Bitte wählen Sie die Entscheidung: Widerruf, Rücknahme oder nur Zinsen."), code=Code.INVALID
        )
    revoked = Decimal("0.00")
    if outcome != Outcome.INTEREST:
        try:
            revoked = _amount(revoked_amount, words=_("Aufgehobener Betrag"))
        except DomainError as error:
            problems.extend(error.reasons)
        if revoked > grant:
            conflicts.append(
                _("Aufgehoben werden kann höchstens der bewilligte Zuschuss von %(grant)s €.")
                % {"grant": format_amount(grant)}
            )
        approved_on = timezone.localdate(application.approved_at) if application.approved_at else None
        if effective_from is None:
            problems.append(_("Bitte geben Sie an, ab wann der Bescheid unwirksam wird."))
        elif approved_on and effective_from < approved_on:
            conflicts.append(
                _("Unwirksam werden kann der Bescheid frühestens ab seinem Erlass am %(day)s.")
                % {"day": f"{approved_on:%d.%m.%Y}"}
            )
    elif revoked_amount not in (None, "", 0, "0", Decimal("0")):
        problems.append(_("Bei „nur Zinsen“ bleibt der Zuschuss, wie er ist: bitte keinen Betrag aufheben."))
    remaining = grant - revoked
    principal = max(paid - remaining, Decimal("0.00"))
    try:
        late = _late_use(application, late_use_amount, late_use_from, late_use_until, on=on)
    except DomainError as error:
        (problems if error.code == Code.INVALID else conflicts).extend(error.reasons)
        late = None
    if outcome == Outcome.INTEREST and late is None and not problems and not conflicts:
        problems.append(_("Bitte geben Sie Betrag, Auszahlung und Verwendung für die Zinsen nach § 49a Abs. 4 an."))
    owed = principal > 0 or late is not None
    if owed:
        if due_on is None:
            problems.append(_("Bitte geben Sie an, bis wann zu erstatten ist."))
        elif due_on <= on:
            conflicts.append(_("Die Erstattung kann frühestens morgen fällig werden."))
    _refuse(problems, conflicts)
    interest = Decimal("0.00")
    if late is not None:
        try:
            interest = late_use_interest(late)
        except MissingBaseRate as error:
            raise DomainError(str(error)) from None
    words = {"file": application.file_number}
    # The commitment not paid and beyond the grant left goes back to the allocation now (approved cases only: a paid
    # case released its rest with the final payment).
    if application.state == State.APPROVED:
        to_release = max(grant - paid, Decimal("0.00")) - max(remaining - paid, Decimal("0.00"))
        if to_release > 0:
            try:
                _release(application, to_release, by=by, comment=_("Widerruf %(file)s") % words)
            except BudgetError as error:
                raise DomainError(str(error)) from None
    revocation.grant_before, revocation.paid_before = grant, paid
    revocation.revoked_amount = revoked
    revocation.effective_from = effective_from if outcome != Outcome.INTEREST else None
    revocation.principal = principal
    revocation.due_on = due_on if owed else None
    revocation.interest_waived = bool(interest_waived)
    if late is not None:
        revocation.late_use_amount, revocation.late_use_from, revocation.late_use_until = (
            late.amount,
            late.paid_on,
            late.used_on,
        )
    revocation.late_use_interest = interest
    # The grant the decision leaves, before the step: it tells the state machine whether the case is revoked.
    application.approved_grant = remaining
    if application.payable_amount is not None:
        application.payable_amount = min(application.payable_amount, remaining)
    application.reclaim_outstanding = principal
    settled = principal == 0 and interest == 0
    _run(
        application,
        "decide_revocation",
        by=by,
        comment=comment,
        then={"open_revocation": None if settled else revocation},
    )
    revocation.outcome = outcome
    revocation.decided_by = by
    revocation.decided_at = timezone.now()
    revocation.decision_comment = comment
    revocation.settled_at = revocation.decided_at if settled else None
    revocation.save()
    return revocation


@_serves("close_revocation")
@transaction.atomic
def revocation_close(*, application_id: int, by: User, comment: str) -> GrantApplication:
    """Das Verfahren einstellen (a second person, with reasons): the notice stands as it is."""
    application = _lock(application_id)
    _ensure_allowed(by, "close_revocation", application)
    comment = _require_comment(comment, str(STEPS["close_revocation"].comment_required))
    revocation = _open(application)
    _run(application, "close_revocation", by=by, comment=comment, then={"open_revocation": None})
    revocation.outcome = Outcome.CLOSED
    revocation.decided_by = by
    revocation.decided_at = revocation.settled_at = timezone.now()
    revocation.decision_comment = comment
    revocation.save(update_fields=["outcome", "decided_by", "decided_at", "decision_comment", "settled_at"])
    return application


def revocation_end_with_case(application: GrantApplication, *, by: User) -> None:
    """The owner withdraws the application during a hearing (nothing paid): the revocation case ends with it."""
    revocation = application.open_revocation
    if revocation is None:
        return
    revocation.outcome = Outcome.ENDED
    revocation.decided_by = by
    revocation.decided_at = revocation.settled_at = timezone.now()
    revocation.save(update_fields=["outcome", "decided_by", "decided_at", "settled_at"])


# --- the reclaim: its account, reminders, repayments --------------------------------------------


def payments_of(application: GrantApplication) -> list[tuple[date, Decimal]]:
    """Each payment of the case (partial and final) by the day it was booked."""
    return [
        (timezone.localdate(booked_at), amount)
        for booked_at, amount in LedgerEntry.objects.filter(
            application=application, kind=LedgerEntry.Kind.PAYMENT
        ).values_list("booked_at", "amount")
    ]


def tranches(revocation: Revocation) -> list[Tranche]:
    if not revocation.principal or revocation.effective_from is None:
        return []
    return tranches_of(
        revocation.principal, payments_of(revocation.application), effective_from=revocation.effective_from
    )


def account_of(
    revocation: Revocation, *, on: date | None = None, adding: tuple[date, Decimal] | None = None
) -> Account:
    """The reclaim's account on ``on`` (today): principal and interest owed, each repayment's credit.

    Raises MissingBaseRate where a day of interest has no base rate on record.
    """
    repayments = [(r.received_on, r.amount) for r in revocation.repayments.all()]
    if adding is not None:
        repayments.append(adding)
    on = on or (adding[0] if adding else today())
    return reclaim_account(
        tranches(revocation),
        repayments,
        on=on,
        interest_first=revocation.application.programme.repayment_order == "interest_first",
        interest_waived=revocation.interest_waived,
        extra_interest=revocation.late_use_interest,
    )


def account_text(revocation: Revocation, *, on: date | None = None) -> dict:
    """The account for pages and letters: the figures, or the words of a missing base rate instead."""
    try:
        account = account_of(revocation, on=on)
    except MissingBaseRate as error:
        return {"missing_rate": str(error), "principal_open": revocation.application.reclaim_outstanding}
    return {
        "principal_open": account.principal_open,
        "interest_accrued": account.interest_accrued,
        "interest_open": account.interest_open,
        "total_open": account.total_open,
        "on": account.on,
    }


def reclaim_summary(application: GrantApplication) -> dict | None:
    """What a decided revocation leaves owed today, for the case pages; None where nothing is open."""
    revocation = application.open_revocation
    if revocation is None or revocation.outcome == Outcome.OPEN:
        return None
    return account_text(revocation)


@_serves("remind_reclaim")
@transaction.atomic
def reclaim_remind(*, application_id: int, by: User, comment: str = "") -> GrantApplication:
    """Zahlungserinnerung: after the due day, a letter with what is owed today, principal and interest."""
    application = _lock(application_id)
    _ensure_allowed(by, "remind_reclaim", application)
    revocation = _open(application)
    if revocation.last_reminded_on == today():
        raise DomainError(_("Heute ist zu dieser Erstattung schon erinnert worden."))
    revocation.reminders += 1
    revocation.last_reminded_on = today()
    revocation.save(update_fields=["reminders", "last_reminded_on"])
    return _run(application, "remind_reclaim", by=by, comment=comment)


@_serves("book_repayment")
@transaction.atomic
def repayment_book(*, application_id: int, by: User, received_on: date | None, amount) -> Repayment:
    """Rückzahlung buchen (finance, never whoever decided the revocation): credited to interest and principal.

    The principal part is booked as a reclaim per funding share, exactly, and the commitment released with it; the
    interest part is kept apart (Repayment.interest_part) and never goes into the allocation.
    """
    application = _lock(application_id)
    _ensure_allowed(by, "book_repayment", application)
    revocation = _open(application)
    problems: list[str] = []
    conflicts: list[str] = []
    try:
        value = _amount(amount, words=_("Betrag"))
    except DomainError as error:
        problems.extend(error.reasons)
        value = Decimal("0.00")
    decided_on = timezone.localdate(revocation.decided_at) if revocation.decided_at else None
    last = revocation.repayments.order_by("-received_on").values_list("received_on", flat=True).first()
    if received_on is None:
        problems.append(_("Bitte geben Sie an, wann die Zahlung eingegangen ist."))
    elif received_on > today():
        conflicts.append(_("Der Tag des Eingangs liegt in der Zukunft."))
    elif decided_on and received_on < decided_on:
        conflicts.append(
            _("Eingegangen sein kann die Erstattung erst nach der Entscheidung vom %(day)s.")
            % {"day": f"{decided_on:%d.%m.%Y}"}
        )
    elif last and received_on < last:
        conflicts.append(
            _("Rückzahlungen werden in der Reihenfolge ihres Eingangs gebucht; die letzte ging am %(day)s ein.")
            % {"day": f"{last:%d.%m.%Y}"}
        )
    _refuse(problems, conflicts)
    try:
        account = account_of(revocation, adding=(received_on, value))  # type: ignore[arg-type]  # checked above
    except MissingBaseRate as error:
        raise DomainError(str(error)) from None
    except Overpayment as error:
        raise DomainError([_("Der Betrag ist höher als die offene Forderung."), str(error)]) from None
    credit = account.credits[-1]
    words = {"file": application.file_number}
    if credit.principal_part > 0:
        try:
            year = _budget_year(application)
            ledger_reclaim(
                programme_id=application.programme_id,
                year=year,
                application=application,
                amount=credit.principal_part,
                by=by,
                comment=_("Erstattung %(file)s") % words,
            )
            # What came back is no longer spent: per share, paid + released = committed again.
            ledger_release(
                programme_id=application.programme_id,
                year=year,
                application=application,
                amount=credit.principal_part,
                by=by,
                comment=_("Erstattung %(file)s") % words,
            )
        except BudgetError as error:
            raise DomainError(str(error)) from None
    repayment = Repayment.objects.create(
        revocation=revocation,
        application=application,
        received_on=received_on,
        amount=value,
        principal_part=credit.principal_part,
        interest_part=credit.interest_part,
        booked_by=by,
    )
    application.paid_amount = (application.paid_amount or Decimal("0.00")) - credit.principal_part
    application.reclaim_outstanding -= credit.principal_part
    settled = account.principal_open == 0 and account.interest_open == 0
    _run(
        application,
        "book_repayment",
        by=by,
        comment=_("Rückzahlung %(amount)s €") % {"amount": format_amount(value)},
        then={"open_revocation": None} if settled else None,
    )
    if settled:
        revocation.settled_at = timezone.now()
        revocation.save(update_fields=["settled_at"])
    return repayment
