"""Bookings against allocations. Every write to the ledger goes through here.

Each booking is split into the funding shares so that running figures stay exact (docs/domain.md,
"Splitting into shares"):

- a commitment books the difference between the exact split of the allocation's committed total
  after it and the shares' committed figures before it: across the allocation, each share stays
  within a cent of its exact part, and a share that cannot carry its part refuses the commitment;
- every later booking of the case (release, payment, reclaim) takes the case's commitment as its
  reference and books the difference to the exact split of the case's running figure; when a case
  is closed, per share paid + released = committed, exactly.

The running totals (``LedgerTotal``) are added to in the same transaction, under the allocation's row lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from core.money import format_amount

from .models import SHARE_LABELS, Allocation, LedgerEntry, LedgerTotal
from .shares import SHARES, apportion, split, to_cents, to_euros
from .totals import add_entry

# The ledger sits beside the accounts, not on them: the user model is named for the types only.
if TYPE_CHECKING:
    from applicants.models import User

Kind = LedgerEntry.Kind
Parts = dict[str, int]  # cents per share


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


def _by_kind(rows) -> dict[str, Parts]:
    figures = {kind: dict.fromkeys(SHARES, 0) for kind in Kind.values}
    for row in rows:
        for share in SHARES:
            figures[row["kind"]][share] += to_cents(Decimal(row[share] or 0))
    return figures


def _sums(queryset) -> dict[str, Parts]:
    return _by_kind(queryset.values("kind").annotate(**{share: Sum(f"{share}_amount") for share in SHARES}).order_by())


def _net(figures: dict[str, Parts], booked: str, reversed_: str) -> Parts:
    return {s: figures[booked][s] - figures[reversed_][s] for s in SHARES}


@dataclass(frozen=True)
class CaseFigures:
    """One case's bookings on one allocation, per share in cents."""

    committed_gross: Parts  # its commitments
    committed: Parts  # commitments − releases
    paid: Parts  # payments − reclaims
    first_commitment: Parts | None  # the split of its first commitment: the reference of every later split

    @property
    def reference(self) -> dict[str, Fraction] | None:
        if not self.first_commitment:
            return None
        whole = sum(self.first_commitment.values())
        return {s: Fraction(self.first_commitment[s], whole) for s in SHARES}


def case_figures(allocation: Allocation, application) -> CaseFigures:
    entries = LedgerEntry.objects.filter(allocation=allocation, application=application)
    figures = _sums(entries)
    first = entries.filter(kind=Kind.COMMITMENT).order_by("id").values(*(f"{s}_amount" for s in SHARES)).first()
    return CaseFigures(
        committed_gross=figures[Kind.COMMITMENT],
        committed=_net(figures, Kind.COMMITMENT, Kind.RELEASE),
        paid=_net(figures, Kind.PAYMENT, Kind.RECLAIM),
        first_commitment={s: to_cents(first[f"{s}_amount"]) for s in SHARES} if first else None,
    )


def allocation_committed(allocation: Allocation) -> Parts:
    """The allocation's committed figure per share, from the kept totals."""
    return _net(_sums(LedgerTotal.objects.filter(allocation=allocation)), Kind.COMMITMENT, Kind.RELEASE)


def _book(*, allocation: Allocation, application, kind: str, parts: Parts, by: User, comment: str) -> LedgerEntry:
    entry = LedgerEntry.objects.create(
        allocation=allocation,
        application=application,
        kind=kind,
        amount=to_euros(sum(parts.values())),
        booked_by=by,
        comment=comment[:300],
        **{f"{share}_amount": to_euros(part) for share, part in parts.items()},
    )
    add_entry(allocation, entry)
    return entry


def _positive(amount: Decimal) -> int:
    cents = to_cents(amount)
    if cents <= 0 or to_euros(cents) != amount:
        raise BudgetError(_("Eine Buchung braucht einen positiven Betrag in ganzen Cent."))
    return cents


def _toward(
    cents: int,
    *,
    before: Parts,
    after_total: int,
    reference: dict[str, Fraction],
    room: Parts,
    rising: bool,
    steer: dict[str, Fraction] | None = None,
) -> Parts:
    """Book ``cents`` so that a running figure of a case moves from ``before`` to the exact split of ``after_total``.

    Each share's figure ends within a cent of its exact part and no part exceeds its ``room``. Within those
    bounds, ``steer`` (what each part should be for the allocation's figures to stay exact) picks the cents.
    """
    exact = {s: after_total * reference[s] for s in SHARES}
    if rising:
        ideal = {s: exact[s] - before[s] for s in SHARES}
        bounds = {s: (math.ceil(exact[s] - 1) - before[s], math.floor(exact[s] + 1) - before[s]) for s in SHARES}
    else:
        ideal = {s: before[s] - exact[s] for s in SHARES}
        bounds = {s: (before[s] - math.floor(exact[s] + 1), before[s] - math.ceil(exact[s] - 1)) for s in SHARES}
    low = {s: max(bounds[s][0], 0) for s in SHARES}
    high = {s: min(bounds[s][1], max(room[s], 0)) for s in SHARES}
    if any(low[s] > high[s] for s in SHARES) or sum(low.values()) > cents or sum(high.values()) < cents:
        # Figures already off their exact split (bookings from before it was kept): as near as the room allows.
        low, high, steer = dict.fromkeys(SHARES, 0), {s: max(room[s], 0) for s in SHARES}, None
    return apportion(cents, steer or ideal, low=low, high=high)


def _allocation_steer(allocation: Allocation, *, change: int, rest: Parts | None = None) -> dict[str, Fraction]:
    """What each part of a booking should be for the allocation's committed figures to stay their exact split.

    ``change``: how much the allocation's committed total falls (a release) by this booking; ``rest``: for a
    final payment, what the case still has open per share (released right after, less this payment).
    """
    committed = allocation_committed(allocation)
    after = sum(committed.values()) - change
    weights = allocation.shares
    if rest is None:  # a release: its parts leave the committed figure
        return {s: committed[s] - after * weights[s] for s in SHARES}
    return {s: after * weights[s] - committed[s] + rest[s] for s in SHARES}


def _reference(case: CaseFigures, allocation: Allocation) -> dict[str, Fraction]:
    # A case without a commitment here (bookings from before the split was kept) follows the allocation's shares.
    return case.reference or allocation.shares


@transaction.atomic
def ledger_commit(
    *, programme_id: int, year: int, application, amount: Decimal, by: User, comment: str = ""
) -> LedgerEntry:
    """Commit a grant against the programme year's allocation; refused when it or one of its shares cannot carry it."""
    cents = _positive(amount)
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    committed = allocation_committed(allocation)
    whole = split(to_cents(allocation.amount), allocation.shares)
    available = {s: whole[s] - committed[s] for s in SHARES}
    total_available = to_cents(allocation.amount) - sum(committed.values())
    if cents > total_available:
        raise BudgetError(
            _(
                "Die Mittelausstattung %(year)s reicht nicht: verfügbar sind %(available)s €, "
                "der Zuschuss beträgt %(amount)s €."
            )
            % {"year": year, "available": format_amount(to_euros(total_available)), "amount": format_amount(amount)}
        )
    weights = allocation.shares
    after = sum(committed.values()) + cents
    # The reference: the exact split of the allocation's committed total after this commitment.
    ideal = {s: after * weights[s] - committed[s] for s in SHARES}
    # A share must have its exact part of the grant (less a cent of rounding) available, or it refuses.
    own = {s: cents * weights[s] for s in SHARES}
    short = [s for s in SHARES if math.ceil(own[s] - 1) > max(available[s], 0)]
    if short:
        raise BudgetError(
            " ".join(
                _(
                    "Der Anteil %(share)s der Mittelausstattung %(year)s reicht nicht: verfügbar sind "
                    "%(available)s €, auf ihn entfallen %(part)s € des Zuschusses."
                )
                % {
                    "share": SHARE_LABELS[s],
                    "year": year,
                    "available": format_amount(to_euros(max(available[s], 0))),
                    "part": format_amount(to_euros(math.ceil(own[s]))),
                }
                for s in short
            )
        )
    # Each part stays within a cent of the grant's own exact part, so that it can serve as the case's reference;
    # a later commitment of the same case (a change) keeps the case's figure the exact split by its first one.
    # Within those bounds, the parts keep the allocation's figures the exact split of its total.
    room = {s: max(available[s], 0) if weights[s] else 0 for s in SHARES}
    case = case_figures(allocation, application)
    if case.reference:
        exact = {s: (sum(case.committed.values()) + cents) * case.reference[s] for s in SHARES}
        low = {s: math.ceil(exact[s] - 1) - case.committed[s] for s in SHARES}
        high = {s: math.floor(exact[s] + 1) - case.committed[s] for s in SHARES}
    else:
        low = {s: math.ceil(own[s] - 1) for s in SHARES}
        high = {s: math.floor(own[s] + 1) for s in SHARES}
    low = {s: min(max(low[s], 0), room[s]) for s in SHARES}
    high = {s: max(min(high[s], room[s]), low[s]) for s in SHARES}
    if not sum(low.values()) <= cents <= sum(high.values()):
        low, high = dict.fromkeys(SHARES, 0), room  # bounds that cannot both hold: what each share has is enough
    parts = apportion(cents, ideal, low=low, high=high)
    return _book(
        allocation=allocation, application=application, kind=Kind.COMMITMENT, parts=parts, by=by, comment=comment
    )


def _release(allocation: Allocation, application, cents: int, *, by: User, comment: str) -> LedgerEntry:
    case = case_figures(allocation, application)
    open_ = sum(case.committed.values()) - sum(case.paid.values())
    if cents > open_:
        raise BudgetError(
            _("Freigegeben werden kann höchstens, was gebunden und nicht ausgezahlt ist: %(open)s €.")
            % {"open": format_amount(to_euros(max(open_, 0)))}
        )
    rest = {s: case.committed[s] - case.paid[s] for s in SHARES}
    if cents == open_ and min(rest.values()) >= 0:
        parts = rest  # the case is closed: per share, paid + released = committed
    else:
        parts = _toward(
            cents,
            before=case.committed,
            after_total=sum(case.committed.values()) - cents,
            reference=_reference(case, allocation),
            room=rest,
            rising=False,
            steer=_allocation_steer(allocation, change=cents),
        )
    return _book(allocation=allocation, application=application, kind=Kind.RELEASE, parts=parts, by=by, comment=comment)


@transaction.atomic
def ledger_release(
    *, programme_id: int, year: int, application, amount: Decimal, by: User, comment: str = ""
) -> LedgerEntry | None:
    """Release (part of) a case's commitment that is not paid; nothing to book for nothing."""
    if amount <= 0:
        return None
    cents = _positive(amount)
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    return _release(allocation, application, cents, by=by, comment=comment)


@transaction.atomic
def ledger_pay(
    *, programme_id: int, year: int, application, amount: Decimal, by: User, comment: str = "", final: bool = True
) -> LedgerEntry | None:
    """Pay (part of) a committed grant; the final payment also releases the rest of the commitment.

    The payment is split so that the case's paid figure stays the exact split of its total by the
    case's commitment; it can never pay a share more than the share has committed.
    """
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    payment = None
    if amount > 0:
        cents = _positive(amount)
        case = case_figures(allocation, application)
        open_ = sum(case.committed.values()) - sum(case.paid.values())
        if cents > open_:
            raise BudgetError(
                _("Die Auszahlung von %(amount)s € übersteigt die offene Bindung von %(open)s €.")
                % {"amount": format_amount(amount), "open": format_amount(to_euros(max(open_, 0)))}
            )
        room = {s: case.committed[s] - case.paid[s] for s in SHARES}
        # The final payment decides the release after it: its cents are picked to keep the allocation exact.
        steer = _allocation_steer(allocation, change=open_ - cents, rest=room) if final else None
        parts = _toward(
            cents,
            before=case.paid,
            after_total=sum(case.paid.values()) + cents,
            reference=_reference(case, allocation),
            room=room,
            rising=True,
            steer=steer,
        )
        payment = _book(
            allocation=allocation, application=application, kind=Kind.PAYMENT, parts=parts, by=by, comment=comment
        )
    if final:
        case = case_figures(allocation, application)
        rest = sum(case.committed.values()) - sum(case.paid.values())
        if rest > 0:
            _release(allocation, application, rest, by=by, comment=comment)
    return payment


@transaction.atomic
def ledger_reclaim(
    *, programme_id: int, year: int, application, amount: Decimal, by: User, comment: str = ""
) -> LedgerEntry:
    """Reclaim (part of) what was paid; split so that the case's paid figure stays its exact split."""
    cents = _positive(amount)
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    case = case_figures(allocation, application)
    paid = sum(case.paid.values())
    if cents > paid:
        raise BudgetError(
            _("Zurückgefordert werden kann höchstens, was ausgezahlt ist: %(paid)s €.")
            % {"paid": format_amount(to_euros(max(paid, 0)))}
        )
    parts = _toward(
        cents,
        before=case.paid,
        after_total=paid - cents,
        reference=_reference(case, allocation),
        room=case.paid,
        rising=False,
    )
    return _book(allocation=allocation, application=application, kind=Kind.RECLAIM, parts=parts, by=by, comment=comment)
