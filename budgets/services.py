"""Bookings against allocations. Every write to the ledger goes through here."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from core.money import format_amount

from .models import Allocation, LedgerEntry

# The ledger sits beside the accounts, not on them: the user model is named for the types only.
if TYPE_CHECKING:
    from applicants.models import User
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
    *, allocation: Allocation, application, kind: str, amount: Decimal, by: User, comment: str = ""
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
def ledger_commit(
    *, programme_id: int, year: int, application, amount: Decimal, by: User, comment: str = ""
) -> LedgerEntry:
    """Commit a grant against the programme year's allocation; refused when it cannot carry it."""
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    available = allocation_balance(allocation).available
    if amount > available:
        raise BudgetError(
            _(
                "Die Mittelausstattung %(year)s reicht nicht: verfügbar sind %(available)s €, "
                "der Zuschuss beträgt %(amount)s €."
            )
            % {"year": year, "available": format_amount(available), "amount": format_amount(amount)}
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
    *, programme_id: int, year: int, application, amount: Decimal, by: User, comment: str = ""
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
    *, programme_id: int, year: int, application, amount: Decimal, committed: Decimal, by: User, comment: str = ""
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
