"""Payment runs, step by step: gathered by finance, ordered by a second person, marked executed, a transfer returned.

*Booked when released:* a payment is in the ledger from the release (grants: pay, pay_partial), as the statement
and the commitment check read it. A run is the transfer order that follows; it books nothing. Each released payment
is in one run only (``PaymentItem``'s constraint; a second finance user building a run at the same time waits for
the municipality's lock and finds nothing left). A transfer that came back frees its payment for a later run, once
the IBAN is corrected.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from applicants.models import Role, User
from budgets.models import LedgerEntry
from core.banking import iban_of_a_known_bank
from core.errors import Code, DomainError
from core.models import Municipality
from core.money import format_amount

from .models import PaymentItem, PaymentRun


def may_pay(user: User) -> bool:
    return user.is_authenticated and user.has_role(Role.FINANCE)


def may_read_runs(user: User) -> bool:
    return user.is_authenticated and (user.has_role(Role.FINANCE) or user.has_role(Role.AUDITOR))


def town_runs(user: User):
    """The runs of the user's municipalities, whatever the role: another town's run is not found (404) for anyone."""
    if not user.is_authenticated:
        return PaymentRun.objects.none()
    return PaymentRun.objects.filter(municipality__in=user.municipality_ids)


def visible_runs(user: User):
    if not may_read_runs(user):
        return PaymentRun.objects.none()
    return town_runs(user)


def _municipality(user: User, municipality_id: int | None) -> Municipality:
    ids = sorted(user.municipality_ids)
    if municipality_id is None and len(ids) == 1:
        municipality_id = ids[0]
    if municipality_id is None and ids:
        raise DomainError(_("Bitte wählen Sie die Kommune, für die der Lauf ist."), code=Code.INVALID)
    if municipality_id not in ids:
        raise DomainError(_("Kommune nicht gefunden."), code=Code.NOT_FOUND)
    return Municipality.objects.select_for_update().get(pk=municipality_id)


def waiting_payments(municipality_id: int):
    """The released payments of the municipality that are in no run (or whose transfer came back)."""
    in_a_run = PaymentItem.objects.filter(entry=OuterRef("pk"), returned_on__isnull=True)
    return (
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.PAYMENT,
            amount__gt=0,
            application__isnull=False,
            allocation__programme__municipality_id=municipality_id,
        )
        .exclude(Exists(in_a_run))
        .select_related("application__applicant", "application__programme")
        .order_by("id")
    )


def _purpose(entry: LedgerEntry) -> str:
    application = entry.application
    words = _("Zuschuss %(file)s %(programme)s") % {
        "file": application.file_number,
        "programme": application.programme.name,
    }
    return words[:140]


def _ensure_finance(by: User) -> None:
    if not may_pay(by):
        raise DomainError(
            _("Zahlungsläufe stellt die Finanzabteilung zusammen und ordnet sie an."), code=Code.FORBIDDEN
        )


@transaction.atomic
def run_create(*, by: User, value_date: date | None, municipality_id: int | None = None) -> PaymentRun:
    """Gather every released payment of the municipality that waits into a run for ``value_date``.

    Refused (409, nothing written) without the municipality's own account, without payments, or where a payee's IBAN
    is missing or wrong — every such case named.
    """
    _ensure_finance(by)
    municipality = _municipality(by, municipality_id)
    if value_date is None:
        raise DomainError(_("Bitte geben Sie den Ausführungstag an."), code=Code.INVALID)
    if value_date < timezone.localdate():
        raise DomainError(_("Der Ausführungstag liegt in der Vergangenheit."))
    if value_date.weekday() >= 5:
        raise DomainError(_("Banken führen Überweisungen an Werktagen aus; bitte wählen Sie einen Werktag."))
    problems = []
    if not municipality.debtor_iban or not municipality.debtor_name:
        problems.append(_("Für die Kommune ist kein Konto für Zahlungen hinterlegt (Verwaltung: Kommune)."))
    entries = list(waiting_payments(municipality.pk))
    if not entries:
        problems.append(_("Es warten keine freigegebenen Zahlungen."))
    for entry in entries:
        applicant = entry.application.applicant
        try:
            if not applicant.iban:
                raise ValidationError(_("keine IBAN"))
            iban_of_a_known_bank(applicant.iban)
        except ValidationError as error:
            problems.append(
                _("%(file)s (%(payee)s): %(why)s")
                % {"file": entry.application.file_number, "payee": applicant, "why": " ".join(error.messages)}
            )
    if problems:
        raise DomainError(problems)
    total = sum((e.amount for e in entries), Decimal("0.00"))
    run = PaymentRun.objects.create(
        municipality=municipality,
        value_date=value_date,
        schema=municipality.sepa_schema,
        message_id=f"FD{timezone.now():%Y%m%d%H%M%S}{get_random_string(8).upper()}",
        count=len(entries),
        total=total,
        created_by=by,
    )
    try:
        with transaction.atomic():
            PaymentItem.objects.bulk_create(
                PaymentItem(
                    run=run,
                    entry=entry,
                    application=entry.application,
                    payee=str(entry.application.applicant)[:70],
                    iban=entry.application.applicant.iban.replace(" ", ""),
                    bic=entry.application.applicant.bank.get("bic", ""),
                    amount=entry.amount,
                    purpose=_purpose(entry),
                    end_to_end_id=f"FD-{entry.pk}-{run.pk}",
                )
                for entry in entries
            )
    except IntegrityError:  # another run took one of them first
        raise DomainError(_("Eine der Zahlungen ist gerade in einen anderen Zahlungslauf gekommen.")) from None
    return run


def _locked_run(by: User, run_id: int) -> PaymentRun:
    run = town_runs(by).select_for_update(of=("self",)).filter(pk=run_id).first()
    if run is None:
        raise DomainError(_("Zahlungslauf nicht gefunden."), code=Code.NOT_FOUND)
    return run


@transaction.atomic
def run_order(*, by: User, run_id: int) -> PaymentRun:
    """Anordnen ("rechnerisch richtig / angeordnet"): finance, never whoever certified a case's invoices."""
    run = _locked_run(by, run_id)
    _ensure_finance(by)
    if run.status != PaymentRun.Status.DRAFT:
        raise DomainError(_("Dieser Zahlungslauf ist schon angeordnet."))
    certifiers = set(run.items.values_list("application__invoices_certified_by_id", flat=True))
    if by.pk in certifiers:
        raise DomainError(
            _(
                "Sie haben Rechnungen eines Antrags in diesem Lauf als sachlich richtig bestätigt; anordnen muss eine "
                "andere Person."
            ),
            code=Code.FORBIDDEN,
        )
    run.status, run.ordered_by, run.ordered_at = PaymentRun.Status.ORDERED, by, timezone.now()
    run.save(update_fields=["status", "ordered_by", "ordered_at"])
    return run


@transaction.atomic
def run_execute(*, by: User, run_id: int, executed_on: date | None) -> PaymentRun:
    """The cash office or the bank carried the run out: recorded with the day; each owner is told by e-mail."""
    from grants.notifications import email_send_once, owner_address

    run = _locked_run(by, run_id)
    _ensure_finance(by)
    if run.status == PaymentRun.Status.DRAFT:
        raise DomainError(_("Der Zahlungslauf ist noch nicht angeordnet."))
    if run.status == PaymentRun.Status.EXECUTED:
        raise DomainError(_("Der Zahlungslauf ist schon als ausgeführt erfasst."))
    if executed_on is None:
        raise DomainError(_("Bitte geben Sie den Tag der Ausführung an."), code=Code.INVALID)
    if executed_on > timezone.localdate():
        raise DomainError(_("Der Tag der Ausführung liegt in der Zukunft."))
    run.status, run.executed_by, run.executed_on = PaymentRun.Status.EXECUTED, by, executed_on
    run.save(update_fields=["status", "executed_by", "executed_on"])
    items = list(run.items.select_related("application__applicant__user"))

    def tell_owners():
        for item in items:
            email_send_once(
                key=f"payment-run:{item.pk}",
                to=[owner_address(item.application)],
                subject=f"Überweisung zu {item.application.file_number}",
                body=(
                    f"Der Zuschuss von {format_amount(item.amount)} € zu {item.application.file_number} ist am "
                    f"{executed_on:%d.%m.%Y} an das Konto {item.application.applicant.iban_masked} überwiesen worden "
                    f"(Verwendungszweck: {item.purpose}).\n\nFörderdesk\n"
                ),
                application=item.application,
            )

    transaction.on_commit(tell_owners)
    return run


@transaction.atomic
def item_return(*, by: User, run_id: int, item_id: int, returned_on: date | None, reason: str) -> PaymentItem:
    """A transfer came back (wrong IBAN, closed account): recorded; the payment waits for a later run."""
    run = _locked_run(by, run_id)
    _ensure_finance(by)
    item = run.items.filter(pk=item_id).first()
    if item is None:
        raise DomainError(_("Überweisung nicht gefunden."), code=Code.NOT_FOUND)
    if run.status != PaymentRun.Status.EXECUTED:
        raise DomainError(_("Zurückkommen kann nur eine ausgeführte Überweisung."))
    if item.returned_on is not None:
        raise DomainError(_("Diese Überweisung ist schon als zurückgekommen erfasst."))
    reason = (reason or "").strip()
    problems = []
    if not reason:
        problems.append(_("Bitte geben Sie den Grund an (etwa: Konto erloschen, IBAN falsch)."))
    if returned_on is None:
        problems.append(_("Bitte geben Sie an, wann die Überweisung zurückkam."))
    if problems:
        raise DomainError(problems, code=Code.INVALID)
    if returned_on < run.executed_on or returned_on > timezone.localdate():  # type: ignore[operator]
        raise DomainError(_("Zurückkommen kann sie zwischen der Ausführung und heute."))
    item.returned_on, item.return_reason = returned_on, reason[:200]
    item.save(update_fields=["returned_on", "return_reason"])
    return item
