"""Balances of allocations, read from the ledger's kept running totals (constant time, however long the ledger)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import Any, TypeVar

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.money import CENT, ZERO

from .models import SHARES, Allocation, CarryOver, CashFrame, LedgerEntry, LedgerTotal
from .shares import split, to_cents, to_euros

Kind = LedgerEntry.Kind
T = TypeVar("T")

# What each balance nets, as (booked, reversed): the one place the ledger's kinds become balances. A shift moves a
# commitment between cash years; over a case or an allocation its pair nets to nothing.
NETTED = {
    "committed": ((Kind.COMMITMENT, Kind.SHIFT_IN), (Kind.RELEASE, Kind.SHIFT_OUT)),
    "paid": ((Kind.PAYMENT,), (Kind.RECLAIM,)),
}


def netted(total: Callable[[str], T]) -> dict[str, T]:
    """committed = commitments + shifts in − releases − shifts out, paid = payments − reclaims, from ``total(kind)``.

    ``total`` gives the sum of one kind, as a number (a row already read) or as an SQL expression
    (an aggregate still to run): every balance, burn-down and statement column nets here.
    """

    def of(kinds):
        return reduce(operator.add, (total(kind) for kind in kinds))

    return {name: of(booked) - of(reversed_) for name, (booked, reversed_) in NETTED.items()}


@dataclass(frozen=True)
class Balance:
    allocation: Decimal
    committed: Decimal
    paid: Decimal

    def __post_init__(self):
        # SQLite hands sums back without their scale; money always has two places.
        for name in ("allocation", "committed", "paid"):
            object.__setattr__(self, name, Decimal(getattr(self, name)).quantize(CENT))

    @property
    def available(self) -> Decimal:
        return self.allocation - self.committed


def _kind_sums(shares=("total", *SHARES)) -> dict:
    """Sums of the kept totals by share and kind (at most 48 rows an allocation): ``{"<share>__<kind>": …}``."""

    def field(share):
        return "amount" if share == "total" else f"{share}_amount"

    return {
        f"{share}__{kind}": Coalesce(
            Sum(field(share), filter=Q(kind=kind)),
            Value(ZERO),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        )
        for share in shares
        for kind in Kind.values
    }


def _balance(row: dict, share: str, amount: Decimal) -> Balance:
    return Balance(allocation=amount, **netted(lambda kind: row[f"{share}__{kind}"]))


def share_amounts(allocation: Allocation) -> dict[str, Decimal]:
    """The allocation's amount split into its funding shares, to the cent."""
    return {share: to_euros(part) for share, part in split(to_cents(allocation.amount), allocation.shares).items()}


def _balances_from(row: dict, allocation: Allocation) -> dict[str, Balance]:
    totals = {"total": allocation.amount, **share_amounts(allocation)}
    return {share: _balance(row, share, totals[share]) for share in ("total", *SHARES)}


def allocation_balance(allocation: Allocation) -> Balance:
    """committed = commitments − releases; paid = payments − reclaims; available = allocation − committed."""
    row = LedgerTotal.objects.filter(allocation=allocation).aggregate(**_kind_sums(("total",)))
    return _balance(row, "total", allocation.amount)


def allocation_balance_by_share(allocation: Allocation) -> dict[str, Balance]:
    """The balance in total and per funding share, in one query over the kept totals."""
    row = LedgerTotal.objects.filter(allocation=allocation).aggregate(**_kind_sums())
    return _balances_from(row, allocation)


def balances_of(allocations) -> dict[int, Balance]:
    """The total balance of many allocations in one grouped query (the start page's budget at a glance)."""
    allocations = list(allocations)
    sums = _kind_sums(("total",))
    rows = LedgerTotal.objects.filter(allocation__in=allocations).values("allocation").annotate(**sums).order_by()
    by_id: dict[int, Any] = {row["allocation"]: row for row in rows}
    empty = dict.fromkeys(sums, ZERO)
    return {a.pk: _balance(by_id.get(a.pk, empty), "total", a.amount) for a in allocations}


def ledger_entries(allocation: Allocation, *, kind: str = "", booked_from=None, booked_to=None, q: str = ""):
    """The ledger of one allocation, newest first, filtered by kind, booking date and file number or text.

    Pages are taken by keyset (``newest_page``): the entries before a booking number, never COUNT or OFFSET.
    """
    entries = LedgerEntry.objects.filter(allocation=allocation).select_related("application", "booked_by")
    if kind:
        entries = entries.filter(kind=kind)
    if booked_from:
        entries = entries.filter(booked_at__date__gte=booked_from)
    if booked_to:
        entries = entries.filter(booked_at__date__lte=booked_to)
    if q.strip():
        entries = entries.filter(Q(application__file_number__icontains=q.strip()) | Q(comment__icontains=q.strip()))
    return entries.order_by("-id")


def entry_count(allocation: Allocation) -> int:
    """How many entries the allocation's ledger has, from the kept totals."""
    return LedgerTotal.objects.filter(allocation=allocation).aggregate(n=Coalesce(Sum("entries"), 0))["n"]


@dataclass(frozen=True)
class KeysetPage:
    entries: list
    before: int | None  # the page began below this booking number (None: the newest page)
    older: int | None  # the next page's ``before``, when there are older entries


def newest_page(entries: QuerySet[LedgerEntry], *, before: int | None = None, size: int = 50) -> KeysetPage:
    """One page of entries (ordered newest first) below booking number ``before``; one query, any ledger length."""
    if before is not None:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: size + 1])
    return KeysetPage(rows[:size], before, rows[size - 1].pk if len(rows) > size else None)


@dataclass(frozen=True)
class MonthPoint:
    month: int
    committed: Decimal  # cumulative, at the end of the month
    paid: Decimal


def monthly_progress(allocation: Allocation) -> list[MonthPoint]:
    """Cumulative committed and paid at the end of each month of the programme year (for the burn-down).

    Read from the kept totals, which count bookings after the programme year in December and earlier ones in January.
    """
    by_month: dict[int, dict[str, Decimal]] = {m: dict.fromkeys(Kind.values, ZERO) for m in range(1, 13)}
    for month, kind, amount in LedgerTotal.objects.filter(allocation=allocation).values_list("month", "kind", "amount"):
        by_month[month][kind] += amount
    points, committed, paid = [], ZERO, ZERO
    for month in range(1, 13):
        month_net = netted(by_month[month].__getitem__)
        committed += month_net["committed"]
        paid += month_net["paid"]
        points.append(MonthPoint(month, committed.quantize(CENT), paid.quantize(CENT)))
    return points


def allocations_with_balance(allocations: QuerySet[Allocation]) -> QuerySet[Allocation]:
    """Allocations annotated with committed, paid and available in one query, for lists of any length."""

    def total(kind):
        # A subquery over the kept totals (at most 12 rows a kind), never a join over the entries.
        sums = LedgerTotal.objects.filter(allocation=OuterRef("pk"), kind=kind).values("allocation").order_by()
        return Coalesce(
            Subquery(sums.annotate(sum=Sum("amount")).values("sum")[:1]),
            Value(ZERO),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        )

    net = netted(total)
    return allocations.select_related("programme__municipality").annotate(
        committed=net["committed"],
        paid=net["paid"],
        available=F("amount") - net["committed"],
    )


# Budget years (Haushaltsjahre, docs/domain.md "Budget years"): the cash of each year an allocation may bind.


def frames(allocation: Allocation) -> dict[int, int]:
    """The cash each budget year of the allocation has, in cents: its frames, moved by the booked carry-overs.

    Without frames (``CashFrame``) the whole amount is the programme year's.
    """
    return {year.year: to_cents(year.cash) for year in budget_years(allocation)}


@dataclass(frozen=True)
class BudgetYear:
    """One budget year of an allocation: its frame, what carry-overs moved, what is committed and paid."""

    year: int
    frame: Decimal  # the year's cash appropriation or commitment appropriation, as set
    carried_in: Decimal
    carried_out: Decimal
    committed: Decimal  # commitments planned in the year's cash, net of releases and shifts
    paid: Decimal  # payments in the year less what came back

    @property
    def cash(self) -> Decimal:
        return self.frame + self.carried_in - self.carried_out

    @property
    def planned(self) -> Decimal:
        """Cash still planned: committed in the year and not yet paid (Kassenplan)."""
        return self.committed - self.paid

    @property
    def available(self) -> Decimal:
        return self.cash - self.committed


def budget_years(allocation: Allocation) -> list[BudgetYear]:
    """Every budget year of the allocation with its figures, in three queries whatever the ledger's length."""
    return budget_years_of([allocation])[allocation.pk]


def budget_years_of(allocations) -> dict[int, list[BudgetYear]]:
    """The budget years of many allocations (the statement's), in three queries whatever their number."""
    allocations = list(allocations)
    ids = [a.pk for a in allocations]
    frames_of: dict[int, dict[int, int]] = {pk: {} for pk in ids}
    for frame in CashFrame.objects.filter(allocation__in=ids):
        frames_of[frame.allocation_id][frame.year] = to_cents(frame.amount)
    moved_in: dict[int, dict[int, int]] = {pk: {} for pk in ids}
    moved_out: dict[int, dict[int, int]] = {pk: {} for pk in ids}
    for carry in CarryOver.objects.filter(allocation__in=ids, status=CarryOver.Status.BOOKED):
        cents = to_cents(carry.amount)
        out, in_ = moved_out[carry.allocation_id], moved_in[carry.allocation_id]
        out[carry.from_year] = out.get(carry.from_year, 0) + cents
        in_[carry.to_year] = in_.get(carry.to_year, 0) + cents
    sums: dict[int, dict[int, dict[str, Decimal]]] = {pk: {} for pk in ids}
    for allocation_id, cash_year, kind, amount in (
        LedgerTotal.objects.filter(allocation__in=ids)
        .values("allocation", "cash_year", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("allocation", "cash_year", "kind", "total")
    ):
        bucket = sums[allocation_id].setdefault(cash_year, dict.fromkeys(Kind.values, ZERO))
        bucket[kind] += Decimal(amount)
    found: dict[int, list[BudgetYear]] = {}
    for allocation in allocations:
        pk = allocation.pk
        rows = frames_of[pk] or {allocation.year: to_cents(allocation.amount)}
        years = sorted(set(rows) | set(moved_in[pk]) | set(moved_out[pk]) | set(sums[pk]))
        found[pk] = []
        for year in years:
            net = netted(sums[pk].get(year, dict.fromkeys(Kind.values, ZERO)).__getitem__)
            found[pk].append(
                BudgetYear(
                    year=year,
                    frame=to_euros(rows.get(year, 0)),
                    carried_in=to_euros(moved_in[pk].get(year, 0)),
                    carried_out=to_euros(moved_out[pk].get(year, 0)),
                    committed=Decimal(net["committed"]).quantize(CENT),
                    paid=Decimal(net["paid"]).quantize(CENT),
                )
            )
    return found
