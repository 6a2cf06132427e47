"""Bookings against allocations. Every write to the ledger goes through here."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from .models import Allocation, LedgerEntry
from .selectors import allocation_balance
from .shares import split_by_shares


class BudgetError(Exception):
    """A booking the allocation cannot take; the message is meant for the user."""


def allocation_for_update(*, programme_id: int, year: int) -> Allocation:
    """Lock the allocation row so that no two bookings spend the same euro."""
    try:
        return Allocation.objects.select_for_update().get(programme_id=programme_id, year=year)
    except Allocation.DoesNotExist:
        raise BudgetError(
            _("Für das Programmjahr %(year)s ist keine Mittelausstattung angelegt.") % {"year": year}
        ) from None


def ledger_book(
    *, allocation: Allocation, application, kind: str, amount: Decimal, by, comment: str = ""
) -> LedgerEntry:
    """Append one entry, split into the allocation's funding shares."""
    if amount <= 0:
        raise BudgetError(_("Eine Buchung braucht einen positiven Betrag."))
    parts = split_by_shares(amount, allocation.shares)
    return LedgerEntry.objects.create(
        allocation=allocation,
        application=application,
        kind=kind,
        amount=amount,
        booked_by=by,
        comment=comment[:300],
        **{f"{share}_amount": part for share, part in parts.items()},
    )


@transaction.atomic
def ledger_commit(*, programme_id: int, year: int, application, amount: Decimal, by, comment: str = "") -> LedgerEntry:
    """Commit a grant against the programme year's allocation; refused when it cannot carry it."""
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    available = allocation_balance(allocation).available
    if amount > available:
        raise BudgetError(
            _(
                "Die Mittelausstattung %(year)s reicht nicht: verfügbar sind %(available)s €, "
                "der Zuschuss beträgt %(amount)s €."
            )
            % {"year": year, "available": _format_euro(available), "amount": _format_euro(amount)}
        )
    return ledger_book(
        allocation=allocation,
        application=application,
        kind=LedgerEntry.Kind.COMMITMENT,
        amount=amount,
        by=by,
        comment=comment,
    )


@transaction.atomic
def ledger_release(
    *, programme_id: int, year: int, application, amount: Decimal, by, comment: str = ""
) -> LedgerEntry | None:
    """Release (part of) a grant's commitment on the programme year's allocation; nothing to book for nothing."""
    if amount <= 0:
        return None
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    return ledger_book(
        allocation=allocation,
        application=application,
        kind=LedgerEntry.Kind.RELEASE,
        amount=amount,
        by=by,
        comment=comment,
    )


@transaction.atomic
def ledger_pay(
    *, programme_id: int, year: int, application, amount: Decimal, committed: Decimal, by, comment: str = ""
) -> None:
    """Pay a committed grant: the payment (when there is one) and the release of the rest of the commitment."""
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    if amount > 0:
        ledger_book(
            allocation=allocation,
            application=application,
            kind=LedgerEntry.Kind.PAYMENT,
            amount=amount,
            by=by,
            comment=comment,
        )
    ledger_release(
        programme_id=programme_id, year=year, application=application, amount=committed - amount, by=by, comment=comment
    )


def _format_euro(amount: Decimal) -> str:
    from django.utils.formats import number_format

    return number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


# --- proof-of-use statement (Verwendungsnachweis) ------------------------------------------------


def statement_request(
    *, by, year: int, programme_id: int | None = None, municipality_id: int | None = None, narrative: str = ""
):
    """Ask for a Verwendungsnachweis of a programme (or all of a municipality's) for a year; made in the background.

    Refused as "not found" for a programme or municipality outside the user's, alike whether it exists.
    """
    from grants.services import TransitionRefused

    from .models import Statement
    from .rules import may_read_budgets, statement_scope
    from .tasks import generate_statement

    decision = may_read_budgets(by)
    if not decision:
        raise TransitionRefused(decision.reason, code="forbidden")
    programmes = statement_scope(by, programme_id=programme_id, municipality_id=municipality_id)
    if programmes is None:
        raise TransitionRefused(_("Förderprogramm oder Kommune nicht gefunden."), code="not_found")
    if not 2000 <= int(year) <= 2100:
        raise TransitionRefused(_("Bitte ein Programmjahr zwischen 2000 und 2100 angeben."), code="invalid")
    with transaction.atomic():
        statement = Statement.objects.create(
            municipality=programmes[0].municipality,
            programme=programmes[0] if programme_id is not None else None,
            year=year,
            narrative=(narrative or "").strip(),
            created_by=by,
        )
        transaction.on_commit(lambda: _enqueue(generate_statement, statement_id=statement.pk))
    return statement


def _enqueue(task, **kwargs) -> None:
    from grants.tasks import enqueue

    enqueue(task, **kwargs)


def statement_programmes(statement):
    from grants.models import Programme

    if statement.programme_id:
        return [statement.programme]
    return list(Programme.objects.filter(municipality=statement.municipality_id).order_by("name", "pk"))


def statement_generate(*, statement_id: int):
    """Write the workbook and the PDF of a requested statement, counting progress on the row."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from .models import Statement
    from .statements import render_statement_pdf, write_statement

    statement = Statement.objects.select_related("municipality", "programme__municipality").get(pk=statement_id)
    if statement.status == Statement.Status.DONE:
        return statement
    Statement.objects.filter(pk=statement_id).update(status=Statement.Status.RUNNING, done=0, error="")
    programmes = statement_programmes(statement)

    def progress(done: int, total: int) -> None:
        Statement.objects.filter(pk=statement_id).update(done=done, total=total)

    try:
        from io import BytesIO

        out = BytesIO()
        totals = write_statement(programmes, statement.year, out, narrative=statement.narrative, progress=progress)
        pdf = render_statement_pdf(programmes, statement.year, narrative=statement.narrative, totals=totals)
    except Exception as error:
        Statement.objects.filter(pk=statement_id).update(status=Statement.Status.FAILED, error=str(error)[:2000])
        raise
    name = f"verwendungsnachweis-{statement.programme.code if statement.programme else 'alle'}-{statement.year}"
    statement.refresh_from_db()
    statement.workbook.save(f"{name}.xlsx", ContentFile(out.getvalue()), save=False)
    statement.pdf.save(f"{name}.pdf", ContentFile(pdf), save=False)
    statement.status = Statement.Status.DONE
    statement.done = statement.total = totals.rows
    statement.finished_at = timezone.now()
    statement.save()
    statement.refresh_from_db()
    return statement
