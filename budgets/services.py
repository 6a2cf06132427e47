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
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import format_amount

from .models import SHARE_LABELS, Allocation, LedgerEntry, LedgerTotal
from .selectors import frames
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


def _committed(figures: dict[str, Parts]) -> Parts:
    """commitments + shifts in − releases − shifts out, per share (selectors.NETTED)."""
    return {
        s: figures[Kind.COMMITMENT][s]
        + figures[Kind.SHIFT_IN][s]
        - figures[Kind.RELEASE][s]
        - figures[Kind.SHIFT_OUT][s]
        for s in SHARES
    }


def _paid(figures: dict[str, Parts]) -> Parts:
    return {s: figures[Kind.PAYMENT][s] - figures[Kind.RECLAIM][s] for s in SHARES}


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
        committed=_committed(figures),
        paid=_paid(figures),
        first_commitment={s: to_cents(first[f"{s}_amount"]) for s in SHARES} if first else None,
    )


def allocation_committed(allocation: Allocation) -> Parts:
    """The allocation's committed figure per share, from the kept totals."""
    return _committed(_sums(LedgerTotal.objects.filter(allocation=allocation)))


def _book(
    *,
    allocation: Allocation,
    application,
    kind: str,
    parts: Parts,
    by: User,
    comment: str,
    cash_year: int | None = None,
) -> LedgerEntry:
    entry = LedgerEntry.objects.create(
        allocation=allocation,
        application_id=getattr(application, "pk", application),
        kind=kind,
        cash_year=allocation.year if cash_year is None else cash_year,
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


# Budget years (Haushaltsjahre): the cash of each year an allocation may bind, and each case's part of it.


def this_year() -> int:
    return timezone.localdate().year


def _by_year(queryset) -> dict[int, dict[str, Parts]]:
    """Sums per cash year and kind, per share in cents."""
    rows = queryset.values("cash_year", "kind").annotate(**{s: Sum(f"{s}_amount") for s in SHARES}).order_by()
    years: dict[int, list] = {}
    for row in rows:
        years.setdefault(row["cash_year"], []).append(row)
    return {year: _by_kind(found) for year, found in years.items()}


def year_committed(allocation: Allocation) -> dict[int, int]:
    """The allocation's committed total per budget year, in cents, from the kept totals."""
    return {
        year: sum(_committed(figures).values())
        for year, figures in _by_year(LedgerTotal.objects.filter(allocation=allocation)).items()
    }


@dataclass(frozen=True)
class CaseYear:
    committed: Parts
    paid: Parts

    @property
    def open(self) -> Parts:
        return {s: self.committed[s] - self.paid[s] for s in SHARES}

    @property
    def open_total(self) -> int:
        return sum(self.open.values())


def case_years(allocation: Allocation, application) -> dict[int, CaseYear]:
    """One case's committed and paid figures per budget year, per share in cents."""
    found = _by_year(LedgerEntry.objects.filter(allocation=allocation, application=application))
    return {year: CaseYear(_committed(figures), _paid(figures)) for year, figures in sorted(found.items())}


def plan_of(allocation: Allocation, cents: int, *, expected_year: int | None = None) -> dict[int, int]:
    """How a new commitment is planned over the budget years (docs/domain.md, "Budget years").

    The payment is expected in ``expected_year`` (the year the final invoices are due), within the years the
    allocation has cash for; that year takes what its frame has free, then the years before it, latest first, then
    the later ones. Without frames beyond the programme year everything is planned in the programme year.
    """
    committed = year_committed(allocation)
    available = {year: cash - committed.get(year, 0) for year, cash in frames(allocation).items()}
    years = sorted(y for y in available if y >= allocation.year)
    if not years:
        return {allocation.year: cents}
    target = min(max(expected_year or allocation.year, years[0]), years[-1])
    target = max(y for y in years if y <= target)
    order = [target, *sorted((y for y in years if y < target), reverse=True), *(y for y in years if y > target)]
    plan, rest = {}, cents
    for year in order:
        take = min(rest, max(available[year], 0))
        if take:
            plan[year] = take
            rest -= take
    if rest:
        raise BudgetError(
            _(
                "Die Haushaltsjahre der Mittelausstattung %(year)s tragen den Zuschuss nicht: frei sind "
                "zusammen %(free)s €, der Zuschuss beträgt %(amount)s €."
            )
            % {
                "year": allocation.year,
                "free": format_amount(to_euros(cents - rest)),
                "amount": format_amount(to_euros(cents)),
            }
        )
    return plan


def _year_room_problem(allocation: Allocation, year: int, cents: int) -> str | None:
    cash = frames(allocation).get(year, 0)
    free = cash - year_committed(allocation).get(year, 0)
    if cents <= free:
        return None
    if year == allocation.year:
        what = _("Die Ausgabemittel %(year)s der Mittelausstattung %(programme_year)s reichen nicht")
    else:
        what = _("Die Verpflichtungsermächtigung für %(year)s der Mittelausstattung %(programme_year)s reicht nicht")
    return (
        what % {"year": year, "programme_year": allocation.year}
        + ": "
        + _("frei sind %(free)s €, gebraucht werden %(amount)s €.")
        % {"free": format_amount(to_euros(max(free, 0))), "amount": format_amount(to_euros(cents))}
    )


def _shift(
    allocation: Allocation,
    application,
    cents: int,
    from_year: int,
    to_year: int,
    *,
    by: User,
    comment: str,
    check: bool = True,
    parts: Parts | None = None,
) -> None:
    """Move ``cents`` of a case's open commitment from one budget year to another (a pair of shift entries)."""
    if check:
        problem = _year_room_problem(allocation, to_year, cents)
        if problem:
            raise BudgetError(problem)
    if parts is None:
        figures = case_years(allocation, application).get(from_year)
        room = {s: max(figures.open[s], 0) if figures else 0 for s in SHARES}
        if sum(room.values()) < cents:
            raise BudgetError(
                _("Im Haushaltsjahr %(year)s ist für diesen Fall nur %(open)s € gebunden und offen.")
                % {"year": from_year, "open": format_amount(to_euros(sum(room.values())))}
            )
        reference = _reference(case_figures(allocation, application), allocation)
        parts = apportion(cents, {s: cents * reference[s] for s in SHARES}, low=dict.fromkeys(SHARES, 0), high=room)
    words = comment or _("Umplanung %(from)s → %(to)s") % {"from": from_year, "to": to_year}
    for kind, year in ((Kind.SHIFT_OUT, from_year), (Kind.SHIFT_IN, to_year)):
        _book(
            allocation=allocation,
            application=application,
            kind=kind,
            parts=parts,
            by=by,
            comment=words,
            cash_year=year,
        )


@transaction.atomic
def ledger_commit(
    *,
    programme_id: int,
    year: int,
    application,
    amount: Decimal,
    by: User,
    comment: str = "",
    expected_year: int | None = None,
) -> LedgerEntry:
    """Commit a grant against the programme year's allocation; refused when it or one of its shares cannot carry it.

    The commitment is booked in the programme year's cash and then planned over the budget years (``plan_of``):
    the part expected in a later year moves into that year's commitment appropriation, which must carry it.
    """
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
    plan = plan_of(allocation, cents, expected_year=expected_year)
    entry = _book(
        allocation=allocation, application=application, kind=Kind.COMMITMENT, parts=parts, by=by, comment=comment
    )
    for cash_year, planned in sorted(plan.items()):
        if cash_year != allocation.year and planned > 0:
            _shift(allocation, application, planned, allocation.year, cash_year, by=by, comment=comment)
    return entry


def _release(allocation: Allocation, application, cents: int, *, by: User, comment: str) -> LedgerEntry | None:
    """Release ``cents`` of a case's open commitment: from its latest budget year first."""
    case = case_figures(allocation, application)
    open_ = sum(case.committed.values()) - sum(case.paid.values())
    if cents > open_:
        raise BudgetError(
            _("Freigegeben werden kann höchstens, was gebunden und nicht ausgezahlt ist: %(open)s €.")
            % {"open": format_amount(to_euros(max(open_, 0)))}
        )
    years = case_years(allocation, application)
    if cents == open_ and all(min(y.open.values()) >= 0 for y in years.values()):
        # The case is closed: per share and year, paid + released = committed.
        entry = None
        for year, figures in years.items():
            if figures.open_total > 0:
                entry = _book(
                    allocation=allocation, application=application, kind=Kind.RELEASE, parts=figures.open,
                    by=by, comment=comment, cash_year=year,
                )  # fmt: skip
        return entry
    rest, entry = cents, None
    for year in sorted(years, reverse=True):
        room = {s: max(v, 0) for s, v in years[year].open.items()}
        chunk = min(rest, sum(room.values()))
        if chunk <= 0:
            continue
        parts = _toward(
            chunk,
            before=case.committed,
            after_total=sum(case.committed.values()) - chunk,
            reference=_reference(case, allocation),
            room=room,
            rising=False,
            steer=_allocation_steer(allocation, change=chunk),
        )
        entry = _book(
            allocation=allocation, application=application, kind=Kind.RELEASE, parts=parts, by=by,
            comment=comment, cash_year=year,
        )  # fmt: skip
        rest -= chunk
        if not rest:
            break
        case = case_figures(allocation, application)
    return entry


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


def _bring_into(allocation: Allocation, application, cents: int, cash_year: int, *, by: User) -> None:
    """Make a case's open commitment in ``cash_year`` at least ``cents``: a payment earlier than planned.

    The missing part moves from the case's later budget years, nearest first, where that year's cash has
    room; an earlier year's commitment moves only with that year's carry-over (``carry_over_confirm``).
    """
    years = case_years(allocation, application)
    here = years[cash_year].open_total if cash_year in years else 0
    need = cents - here
    for year in sorted(y for y in years if y > cash_year):
        if need <= 0:
            break
        take = min(need, max(years[year].open_total, 0))
        if take > 0:
            _shift(allocation, application, take, year, cash_year, by=by, comment="")
            need -= take
    if need > 0:
        earlier = sorted(y for y in years if y < cash_year and years[y].open_total > 0)
        if earlier:
            raise BudgetError(
                _(
                    "Die Bindung dieses Falls liegt im Haushaltsjahr %(year)s. Bitte zuerst den Übertrag der "
                    "Haushaltsmittel %(year)s nach %(next)s buchen (Haushalt, Übertrag), dann auszahlen."
                )
                % {"year": earlier[-1], "next": earlier[-1] + 1}
            )


@transaction.atomic
def ledger_pay(
    *,
    programme_id: int,
    year: int,
    application,
    amount: Decimal,
    by: User,
    comment: str = "",
    final: bool = True,
    cash_year: int | None = None,
) -> LedgerEntry | None:
    """Pay (part of) a committed grant from the cash of the year it is paid in; the final payment releases the rest.

    The payment is split so that the case's paid figure stays the exact split of its total by the
    case's commitment; it can never pay a share more than the share has committed in that budget year.
    """
    allocation = allocation_for_update(programme_id=programme_id, year=year)
    paid_in = max(this_year() if cash_year is None else cash_year, allocation.year)
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
        _bring_into(allocation, application, cents, paid_in, by=by)
        case = case_figures(allocation, application)
        years = case_years(allocation, application)
        room = {s: max(v, 0) for s, v in years[paid_in].open.items()}
        # The final payment decides the release after it: its cents are picked to keep the allocation exact.
        case_room = {s: case.committed[s] - case.paid[s] for s in SHARES}
        steer = _allocation_steer(allocation, change=open_ - cents, rest=case_room) if final else None
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
            allocation=allocation, application=application, kind=Kind.PAYMENT, parts=parts, by=by,
            comment=comment, cash_year=paid_in,
        )  # fmt: skip
    if final:
        case = case_figures(allocation, application)
        rest = sum(case.committed.values()) - sum(case.paid.values())
        if rest > 0:
            _release(allocation, application, rest, by=by, comment=comment)
    return payment


@transaction.atomic
def ledger_reclaim(
    *,
    programme_id: int,
    year: int,
    application,
    amount: Decimal,
    by: User,
    comment: str = "",
    cash_year: int | None = None,
) -> LedgerEntry:
    """Reclaim (part of) what was paid, into the cash of the year it comes back in; the paid figure stays exact."""
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
    return _book(
        allocation=allocation, application=application, kind=Kind.RECLAIM, parts=parts, by=by, comment=comment,
        cash_year=max(this_year() if cash_year is None else cash_year, allocation.year),
    )  # fmt: skip
