"""Übertrag: the unspent cash of an ended budget year carried into the next, proposed and confirmed by two people.

What is carried is the year's cash (its frame, moved by earlier carry-overs) less what was paid in it. The
open commitments of the year's cases move with it, each case by a pair of shift entries split per share
exactly as the case's figures of that year stand, so that every case keeps per share paid + released =
committed. The carry-over changes no allocation's amount: it moves cash between the allocation's years.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Code, DomainError

from .models import Allocation, CarryOver, LedgerEntry
from .rules import may_manage_allocations, visible_allocations
from .selectors import frames
from .services import BudgetError, _shift, case_years, this_year
from .shares import SHARES, to_cents, to_euros

if TYPE_CHECKING:
    from applicants.models import User

Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class CarryFigures:
    cash: int  # the year's cash less what was paid in it, in cents
    committed: int  # of it, the open commitments of the year's cases
    cases: list[tuple[int, dict[str, int]]]  # (application id, open parts per share) of each case with some open

    @property
    def free(self) -> int:
        return self.cash - self.committed


def carry_figures(allocation: Allocation, year: int) -> CarryFigures:
    """What a carry-over of ``year`` would move now."""
    paid = (
        LedgerEntry.objects.filter(allocation=allocation, cash_year=year)
        .values("kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_kind = {row["kind"]: to_cents(row["total"]) for row in paid}
    cash = frames(allocation).get(year, 0) - by_kind.get(Kind.PAYMENT, 0) + by_kind.get(Kind.RECLAIM, 0)
    ids = (
        LedgerEntry.objects.filter(allocation=allocation, cash_year=year)
        .values_list("application_id", flat=True)
        .distinct()
        .order_by("application_id")
    )
    cases = []
    for application_id in ids:
        figures = case_years(allocation, application_id).get(year)
        if figures is None:
            continue
        open_ = {s: max(figures.open[s], 0) for s in SHARES}
        if sum(open_.values()) > 0:
            cases.append((application_id, open_))
    committed = sum(sum(parts.values()) for _id, parts in cases)
    return CarryFigures(cash=cash, committed=committed, cases=cases)


def _finance(by: User, allocation_id: int) -> Allocation:
    allowed = may_manage_allocations(by)
    if not allowed:
        raise DomainError(allowed.reason, code=Code.FORBIDDEN)
    allocation = visible_allocations(by).filter(pk=allocation_id).first()
    if allocation is None:
        raise DomainError(_("Diese Mittelausstattung gibt es nicht."), code=Code.NOT_FOUND)
    return allocation


def _ended(year: int) -> None:
    if year >= this_year():
        raise DomainError(
            _("Das Haushaltsjahr %(year)s ist noch nicht abgelaufen; übertragen wird nach dem Jahresende.")
            % {"year": year}
        )


@transaction.atomic
def carry_over_propose(*, allocation_id: int, from_year: int, by: User, comment: str = "") -> CarryOver:
    """Finance proposes to carry the unspent cash of an ended budget year into the next."""
    allocation = _finance(by, allocation_id)
    Allocation.objects.select_for_update().filter(pk=allocation.pk).first()
    if from_year < allocation.year:
        raise DomainError(_("Vor dem Programmjahr hat die Mittelausstattung keine Haushaltsmittel."), code=Code.INVALID)
    _ended(from_year)
    figures = carry_figures(allocation, from_year)
    if figures.cash <= 0:
        raise DomainError(
            _("Im Haushaltsjahr %(year)s ist nichts übrig, das übertragen werden könnte.") % {"year": from_year}
        )
    try:
        with transaction.atomic():
            return CarryOver.objects.create(
                allocation=allocation,
                from_year=from_year,
                amount=to_euros(figures.cash),
                committed=to_euros(figures.committed),
                cases=len(figures.cases),
                comment=comment.strip()[:500],
                proposed_by=by,
            )
    except IntegrityError:
        raise DomainError(_("Für dieses Haushaltsjahr gibt es schon einen Übertrag.")) from None


def _proposal(by: User, carry_over_id: int) -> CarryOver:
    found = CarryOver.objects.filter(pk=carry_over_id, allocation__in=visible_allocations(by)).first()
    if found is None:
        raise DomainError(_("Diesen Übertrag gibt es nicht."), code=Code.NOT_FOUND)
    _finance(by, found.allocation_id)
    locked = CarryOver.objects.select_for_update().get(pk=found.pk)
    if locked.status != CarryOver.Status.PROPOSED:
        raise DomainError(_("Der Übertrag ist schon %(status)s.") % {"status": locked.get_status_display()})
    return locked


@transaction.atomic
def carry_over_confirm(*, carry_over_id: int, by: User) -> CarryOver:
    """A second finance person confirms the carry-over; it is booked with the figures as they stand now."""
    carry = _proposal(by, carry_over_id)
    if carry.proposed_by_id == by.pk:
        raise DomainError(
            _("Vier-Augen-Prinzip: Den Übertrag bestätigt eine andere Person als die, die ihn vorgeschlagen hat."),
            code=Code.FORBIDDEN,
        )
    allocation = Allocation.objects.select_for_update().get(pk=carry.allocation_id)
    figures = carry_figures(allocation, carry.from_year)
    if figures.cash <= 0:
        raise DomainError(
            _("Im Haushaltsjahr %(year)s ist nichts übrig, das übertragen werden könnte.") % {"year": carry.from_year}
        )
    words = _("Übertrag %(from)s → %(to)s") % {"from": carry.from_year, "to": carry.to_year}
    try:
        for application_id, parts in figures.cases:
            _shift(
                allocation, application_id, sum(parts.values()), carry.from_year, carry.to_year,
                by=by, comment=words, check=False, parts=parts,
            )  # fmt: skip
    except BudgetError as error:
        raise DomainError(str(error)) from None
    carry.status = CarryOver.Status.BOOKED
    carry.amount = to_euros(figures.cash)
    carry.committed = to_euros(figures.committed)
    carry.cases = len(figures.cases)
    carry.decided_by = by
    carry.decided_at = timezone.now()
    carry.save()
    return carry


@transaction.atomic
def carry_over_cancel(*, carry_over_id: int, by: User) -> CarryOver:
    """Finance discards a proposal that was not booked (e.g. to propose it again with today's figures)."""
    carry = _proposal(by, carry_over_id)
    carry.status = CarryOver.Status.CANCELLED
    carry.decided_by = by
    carry.decided_at = timezone.now()
    carry.save()
    return carry
