"""What the proof-of-use statement reads: the ledger's sums per application, the payments, the cases by state."""

from __future__ import annotations

from fractions import Fraction

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce

from budgets.models import SHARES, Allocation, LedgerEntry
from budgets.selectors import netted
from budgets.shares import split, to_cents, to_euros
from core.money import ZERO
from grants.models import GrantApplication, MeasureComponent, MeasureKind, Repayment

Kind = LedgerEntry.Kind
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
            "guideline_version__number",
            "guideline_version__valid_from",
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
    of_year = Q(budget_year=year) | Q(budget_year__isnull=True, submitted_at__year=year)
    rows = (
        GrantApplication.objects.filter(of_year, programme__in=programmes)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["state"]: row["n"] for row in rows}


def statement_reclaims(allocations) -> dict:
    """Reclaims and § 49a interest on the allocations, per funding share.

    ``reclaimed``: the RECLAIM bookings (principal repaid), as the ledger splits them. ``interest``: the interest
    received on those cases (Repayment.interest_part), kept apart from the allocation and split by each case's
    commitment shares to the cent (largest remainder), so the funding bodies see their part of it.
    """
    ids = [a.pk for a in allocations]
    by_kind = LedgerEntry.objects.filter(allocation__in=ids, kind=LedgerEntry.Kind.RECLAIM).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY),
        **{s: Coalesce(Sum(f"{s}_amount"), Value(ZERO), output_field=MONEY) for s in SHARES},
    )
    interest = dict.fromkeys(SHARES, 0)
    by_allocation = {(a.programme_id, a.year): a for a in allocations}
    repayments = [
        r
        for r in Repayment.objects.filter(
            interest_part__gt=0, application__programme__in=[a.programme_id for a in allocations]
        ).select_related("application")
        if (r.application.programme_id, r.application.budget_year) in by_allocation
    ]
    # Each case's first commitment is the reference of its split (as in case_figures), read for all cases at once.
    first: dict[int, dict[str, Fraction]] = {}
    if repayments:
        commitments = LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.COMMITMENT, application__in={r.application_id for r in repayments}
        ).order_by("application_id", "id")
        for entry in commitments.values("application_id", *(f"{s}_amount" for s in SHARES)):
            if entry["application_id"] not in first:
                parts = {s: to_cents(entry[f"{s}_amount"]) for s in SHARES}
                whole = sum(parts.values())
                first[entry["application_id"]] = {s: Fraction(parts[s], whole) for s in SHARES} if whole else {}
    for repayment in repayments:
        allocation = by_allocation[(repayment.application.programme_id, repayment.application.budget_year)]
        reference = first.get(repayment.application_id) or allocation.shares
        for share, cents in split(to_cents(repayment.interest_part), reference).items():
            interest[share] += cents
    return {
        "reclaimed": {"total": by_kind["total"], **{s: by_kind[s] for s in SHARES}},
        "interest": {"total": to_euros(sum(interest.values())), **{s: to_euros(c) for s, c in interest.items()}},
    }
