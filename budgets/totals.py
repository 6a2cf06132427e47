"""The ledger's running totals (``LedgerTotal``): added to by every booking, rebuilt and reconciled from the entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone

from core.money import ZERO

from .models import Allocation, LedgerEntry, LedgerTotal
from .shares import SHARES

AMOUNTS = ("amount", *(f"{share}_amount" for share in SHARES))


def booking_month(programme_year: int, booked_at: datetime) -> int:
    """The month of the programme year a booking counts in: later years in December, earlier ones in January."""
    local = timezone.localtime(booked_at)
    if local.year > programme_year:
        return 12
    if local.year < programme_year:
        return 1
    return local.month


def add_entry(allocation: Allocation, entry: LedgerEntry) -> None:
    """Add one new entry to its running total; the caller holds the allocation's row lock."""
    key = {
        "allocation": allocation,
        "cash_year": entry.cash_year,
        "month": booking_month(allocation.year, entry.booked_at),
        "kind": entry.kind,
    }
    increments = {field: F(field) + getattr(entry, field) for field in AMOUNTS}
    if not LedgerTotal.objects.filter(**key).update(entries=F("entries") + 1, **increments):
        LedgerTotal.objects.create(**key, entries=1, **{field: getattr(entry, field) for field in AMOUNTS})


Key = tuple[int, int, int, str]  # allocation, cash year, month, kind


def _from_entries(entries: models.QuerySet[LedgerEntry]) -> dict[Key, dict]:
    """Totals recomputed from the entries, keyed by (allocation, cash year, month, kind)."""
    rows = (
        entries.annotate(booked_year=ExtractYear("booked_at"), booked_month=ExtractMonth("booked_at"))
        .values("allocation", "allocation__year", "cash_year", "booked_year", "booked_month", "kind")
        .annotate(entries_=Count("id"), **{f"{field}_": Sum(field) for field in AMOUNTS})
        .order_by()
    )
    totals: dict[Key, dict] = {}
    for row in rows:
        year = row["allocation__year"]
        month = 12 if row["booked_year"] > year else 1 if row["booked_year"] < year else row["booked_month"]
        total = totals.setdefault(
            (row["allocation"], row["cash_year"], month, row["kind"]), {"entries": 0, **dict.fromkeys(AMOUNTS, ZERO)}
        )
        total["entries"] += row["entries_"]
        for field in AMOUNTS:
            total[field] += Decimal(row[f"{field}_"]).quantize(ZERO)
    return totals


def _kept(allocations: models.QuerySet[Allocation]) -> dict[Key, dict]:
    return {
        (t["allocation"], t["cash_year"], t["month"], t["kind"]): {
            "entries": t["entries"],
            **{f: t[f].quantize(ZERO) for f in AMOUNTS},
        }
        for t in LedgerTotal.objects.filter(allocation__in=allocations).values(
            "allocation", "cash_year", "month", "kind", "entries", *AMOUNTS
        )
    }


@dataclass(frozen=True)
class Difference:
    allocation_id: int
    cash_year: int
    month: int
    kind: str
    field: str
    kept: Decimal | int
    recomputed: Decimal | int


def differences(allocations: models.QuerySet[Allocation] | None = None) -> list[Difference]:
    """Every difference between the kept totals and the totals recomputed from the entries."""
    allocations = Allocation.objects.all() if allocations is None else allocations
    recomputed = _from_entries(LedgerEntry.objects.filter(allocation__in=allocations))
    kept = _kept(allocations)
    empty = {"entries": 0, **dict.fromkeys(AMOUNTS, ZERO)}
    found = []
    for key in sorted(set(recomputed) | set(kept)):
        want, have = recomputed.get(key, empty), kept.get(key, empty)
        for field in ("entries", *AMOUNTS):
            if want[field] != have[field]:
                found.append(Difference(*key, field=field, kept=have[field], recomputed=want[field]))
    return found


@transaction.atomic
def rebuild(allocations: models.QuerySet[Allocation] | None = None) -> int:
    """Recompute the kept totals of these allocations (all by default) from their entries; the number of rows."""
    allocations = Allocation.objects.all() if allocations is None else allocations
    locked = list(allocations.select_for_update().order_by("pk").values_list("pk", flat=True))
    LedgerTotal.objects.filter(allocation__in=locked).delete()
    rows = [
        LedgerTotal(allocation_id=allocation, cash_year=cash_year, month=month, kind=kind, **values)
        for (allocation, cash_year, month, kind), values in _from_entries(
            LedgerEntry.objects.filter(allocation__in=locked)
        ).items()
    ]
    LedgerTotal.objects.bulk_create(rows)
    return len(rows)
