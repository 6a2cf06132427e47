"""Balances of allocations, computed by SQL aggregates over the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import SHARES, Allocation, LedgerEntry
from .shares import split_by_shares

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Kind = LedgerEntry.Kind


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


def _balances_from(row: dict, allocation: Allocation) -> dict[str, Balance]:
    totals = {"total": allocation.amount, **split_by_shares(allocation.amount, allocation.shares)}
    return {
        share: Balance(
            allocation=totals[share],
            committed=row[f"{share}__commitment"] - row[f"{share}__release"],
            paid=row[f"{share}__payment"] - row[f"{share}__reclaim"],
        )
        for share in ("total", *SHARES)
    }


def allocation_balance(allocation: Allocation) -> Balance:
    """committed = commitments − releases; paid = payments − reclaims; available = allocation − committed."""
    row = LedgerEntry.objects.filter(allocation=allocation).aggregate(**_balance_aggregates(("total",)))
    return Balance(
        allocation=allocation.amount,
        committed=row["total__commitment"] - row["total__release"],
        paid=row["total__payment"] - row["total__reclaim"],
    )


def allocation_balance_by_share(allocation: Allocation) -> dict[str, Balance]:
    """The balance in total and per funding share, in one query."""
    row = LedgerEntry.objects.filter(allocation=allocation).aggregate(**_balance_aggregates())
    return _balances_from(row, allocation)


def allocations_with_balance(allocations: QuerySet[Allocation]) -> QuerySet[Allocation]:
    """Allocations annotated with committed, paid and available in one query, for lists of any length."""

    def total(kind):
        return Coalesce(
            Sum("entries__amount", filter=Q(entries__kind=kind)),
            Value(ZERO),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )

    return allocations.select_related("programme__municipality").annotate(
        committed=total(Kind.COMMITMENT) - total(Kind.RELEASE),
        paid=total(Kind.PAYMENT) - total(Kind.RECLAIM),
        available=F("amount") - (total(Kind.COMMITMENT) - total(Kind.RELEASE)),
    )
