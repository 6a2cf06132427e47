"""Balances of allocations, computed by SQL aggregates over the ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db.models import DecimalField, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import SHARES, Allocation, LedgerEntry
from .shares import split_by_shares

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Kind = LedgerEntry.Kind
T = TypeVar("T")

# What each balance nets, as (booked, reversed): the one place the ledger's kinds become balances.
NETTED = {"committed": (Kind.COMMITMENT, Kind.RELEASE), "paid": (Kind.PAYMENT, Kind.RECLAIM)}


def netted(total: Callable[[str], T]) -> dict[str, T]:
    """committed = commitments − releases, paid = payments − reclaims, from ``total(kind)``.

    ``total`` gives the sum of one kind, as a number (a row already read) or as an SQL expression
    (an aggregate still to run): every balance, burn-down and statement column nets here.
    """
    return {name: total(booked) - total(reversed_) for name, (booked, reversed_) in NETTED.items()}


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
    by_id = {row["allocation"]: row for row in rows}
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


# --- proof-of-use statement (Verwendungsnachweis) ------------------------------------------------

MONEY = DecimalField(max_digits=14, decimal_places=2)


def statement_allocations(*, programmes, year: int) -> list[Allocation]:
    """The allocations of the programmes for the programme year, in the order the statement lists them."""
    return list(
        Allocation.objects.filter(programme__in=programmes, year=year)
        .select_related("programme__municipality")
        .order_by("programme__name", "programme_id")
    )


def statement_rows(allocations, *, year: int):
    """One row per application with ledger entries on the allocations: its data and its ledger sums.

    Each money column is an SQL aggregate over the ledger, in total and per funding share, so the
    rows add up to ``allocation_balance`` to the cent: ``committed_*`` = commitments − releases,
    ``paid_*`` = payments − reclaims, ``paid_in_year`` those booked in the calendar year, and
    ``commitment_*`` the commitments alone (the grant "laut Bescheid"). The measures come as one
    ``has_<kind>`` flag per kind. Rows are dicts, meant to be streamed with ``.iterator()``.
    """
    from grants.models import GrantApplication, MeasureComponent, MeasureKind

    ids = [a.pk for a in allocations]

    def total(field: str, kind: str, extra: Q | None = None):
        condition = Q(ledger_entries__kind=kind) & (extra or Q())
        return Coalesce(Sum(f"ledger_entries__{field}", filter=condition), Value(ZERO), output_field=MONEY)

    sums = {}
    for share in ("total", *SHARES):
        field = "amount" if share == "total" else f"{share}_amount"
        net = netted(lambda kind, field=field: total(field, kind))
        sums[f"committed_{share}"] = net["committed"]
        sums[f"paid_{share}"] = net["paid"]
        sums[f"commitment_{share}"] = total(field, Kind.COMMITMENT)
    in_year = Q(ledger_entries__booked_at__year=year)
    sums["paid_in_year"] = netted(lambda kind: total("amount", kind, in_year))["paid"]
    measures = {
        f"has_{kind}": Exists(MeasureComponent.objects.filter(application=OuterRef("pk"), kind=kind))
        for kind in MeasureKind.values
    }
    return (
        GrantApplication.objects.filter(ledger_entries__allocation__in=ids)
        .annotate(**measures)
        .values(
            "id",
            "file_number",
            "state",
            "programme__name",
            "applicant__name",
            "applicant__organisation",
            "property__street",
            "property__house_number",
            "property__postcode",
            "property__city",
            "submitted_at",
            "approved_at",
            "paid_at",
            "total_costs",
            "eligible_costs",
            "approved_grant",
            *measures,
        )  # fmt: skip
        .annotate(**sums)
        .order_by("programme__name", "file_number", "id")
    )


def statement_payments(allocations):
    """The Belegliste: every payment and reclaim on the allocations in date order, with its payee."""
    return (
        LedgerEntry.objects.filter(allocation__in=[a.pk for a in allocations], kind__in=[Kind.PAYMENT, Kind.RECLAIM])
        .values(
            "booked_at",
            "kind",
            "comment",
            "amount",
            "federal_amount",
            "state_amount",
            "municipal_amount",
            "private_amount",
            "application__file_number",
            "application__applicant__name",
            "application__applicant__organisation",
        )  # fmt: skip
        .order_by("booked_at", "id")
    )


def statement_state_counts(*, programmes, year: int) -> dict[str, int]:
    """Applications of the programme year by state: approved ones by their budget year, the rest by submission."""
    from django.db.models import Count

    from grants.models import GrantApplication

    of_year = Q(budget_year=year) | Q(budget_year__isnull=True, submitted_at__year=year)
    rows = (
        GrantApplication.objects.filter(of_year, programme__in=programmes)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["state"]: row["n"] for row in rows}
