"""Balances of allocations, computed by SQL aggregates over the ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from core.money import CENT, ZERO

from .models import SHARES, Allocation, LedgerEntry
from .shares import split_by_shares

Kind = LedgerEntry.Kind
T = TypeVar("T")

# What each balance nets, as (booked, reversed): the one place the ledger's kinds become balances.
NETTED = {"committed": (Kind.COMMITMENT, Kind.RELEASE), "paid": (Kind.PAYMENT, Kind.RECLAIM)}


def netted(total: Callable[[str], T]) -> dict[str, T]:
    """committed = commitments − releases, paid = payments − reclaims, from ``total(kind)``.

    ``total`` gives the sum of one kind, as a number (a row already read) or as an SQL expression
    (an aggregate still to run): every balance, burn-down and statement column nets here.
    """
    return {name: total(booked) - total(reversed_) for name, (booked, reversed_) in NETTED.items()}  # type: ignore[operator]


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


def _sum(field: str, kind: str):
    return Coalesce(
        Sum(field, filter=Q(kind=kind)), Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2)
    )


def _balance_aggregates(shares=("total", *SHARES)) -> dict:
    return {
        f"{share}__{kind}": _sum("amount" if share == "total" else f"{share}_amount", kind)
        for share in shares
        for kind in Kind.values
    }


def _balance(row: dict, share: str, amount: Decimal) -> Balance:
    return Balance(allocation=amount, **netted(lambda kind: row[f"{share}__{kind}"]))


def _balances_from(row: dict, allocation: Allocation) -> dict[str, Balance]:
    totals = {"total": allocation.amount, **split_by_shares(allocation.amount, allocation.shares)}
    return {share: _balance(row, share, totals[share]) for share in ("total", *SHARES)}


def allocation_balance(allocation: Allocation) -> Balance:
    """committed = commitments − releases; paid = payments − reclaims; available = allocation − committed."""
    row = LedgerEntry.objects.filter(allocation=allocation).aggregate(**_balance_aggregates(("total",)))
    return _balance(row, "total", allocation.amount)


def allocation_balance_by_share(allocation: Allocation) -> dict[str, Balance]:
    """The balance in total and per funding share, in one query."""
    row = LedgerEntry.objects.filter(allocation=allocation).aggregate(**_balance_aggregates())
    return _balances_from(row, allocation)


def balances_of(allocations) -> dict[int, Balance]:
    """The total balance of many allocations in one grouped query (the start page's budget at a glance)."""
    allocations = list(allocations)
    rows = (
        LedgerEntry.objects.filter(allocation__in=allocations)
        .values("allocation")
        .annotate(**_balance_aggregates(("total",)))
        .order_by()
    )
    by_id: dict[int, Any] = {row["allocation"]: row for row in rows}
    empty = dict.fromkeys(_balance_aggregates(("total",)), ZERO)
    return {a.pk: _balance(by_id.get(a.pk, empty), "total", a.amount) for a in allocations}


def ledger_entries(allocation: Allocation, *, kind: str = "", booked_from=None, booked_to=None, q: str = ""):
    """The ledger of one allocation, oldest first, filtered by kind, booking date and file number or text."""
    entries = LedgerEntry.objects.filter(allocation=allocation).select_related("application", "booked_by")
    if kind:
        entries = entries.filter(kind=kind)
    if booked_from:
        entries = entries.filter(booked_at__date__gte=booked_from)
    if booked_to:
        entries = entries.filter(booked_at__date__lte=booked_to)
    if q.strip():
        entries = entries.filter(Q(application__file_number__icontains=q.strip()) | Q(comment__icontains=q.strip()))
    return entries.order_by("booked_at", "id")


@dataclass(frozen=True)
class MonthPoint:
    month: int
    committed: Decimal  # cumulative, at the end of the month
    paid: Decimal


def monthly_progress(allocation: Allocation) -> list[MonthPoint]:
    """Cumulative committed and paid at the end of each month of the programme year (for the burn-down)."""
    from django.db.models.functions import ExtractMonth, ExtractYear

    rows = (
        LedgerEntry.objects.filter(allocation=allocation)
        .annotate(year=ExtractYear("booked_at"), month=ExtractMonth("booked_at"))
        .values("year", "month", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_month: dict[int, dict[str, Decimal]] = {m: dict.fromkeys(Kind.values, ZERO) for m in range(1, 13)}
    for row in rows:
        # Bookings after the programme year (late payments) count in December; earlier ones in January.
        month = 12 if row["year"] > allocation.year else 1 if row["year"] < allocation.year else row["month"]
        by_month[month][row["kind"]] += Decimal(row["total"])
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
        return Coalesce(
            Sum("entries__amount", filter=Q(entries__kind=kind)),
            Value(ZERO),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )

    net = netted(total)
    return allocations.select_related("programme__municipality").annotate(
        committed=net["committed"],
        paid=net["paid"],
        available=F("amount") - net["committed"],
    )
