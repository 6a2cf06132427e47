"""The exact ledger: shares as fractions, splits consistent over a case's life, running totals that reconcile."""

from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from budgets import totals
from budgets.models import SHARES, Allocation, LedgerEntry, LedgerTotal
from budgets.selectors import allocation_balance_by_share, entry_count
from budgets.services import BudgetError, case_figures, ledger_commit, ledger_pay, ledger_reclaim, ledger_release
from budgets.shares import parse_share, split_amount, to_cents

from ..factories import make_application

pytestmark = pytest.mark.django_db
D = Decimal
CENT = Fraction(1)  # figures below are in cents
THIRDS = {"federal": Fraction(1, 3), "state": Fraction(1, 3), "municipal": Fraction(1, 3), "private": Fraction(0)}


class Rollback(Exception):
    pass


@pytest.fixture
def cases(programme, people):
    return [make_application(programme=programme, applicant=people.alice) for _ in range(5)]


def _allocation(programme, amount: str, shares: dict[str, Fraction]) -> Allocation:
    allocation = Allocation(programme=programme, year=2026, amount=D(amount))
    allocation.set_shares(shares)
    allocation.full_clean()
    allocation.save()
    return allocation


def test_one_third_each_is_exact_and_a_grant_of_1000_books_333_34_333_33_333_33(programme, cases, people):
    allocation = _allocation(programme, "300000.00", THIRDS)
    assert allocation.shares == THIRDS and allocation.share_whole == 3
    assert allocation.federal_percent == D("33.3333")
    entry = ledger_commit(
        programme_id=programme.pk, year=2026, application=cases[0], amount=D("1000.00"), by=people.approver
    )
    assert (entry.federal_amount, entry.state_amount, entry.municipal_amount) == (D("333.34"), D("333.33"), D("333.33"))


@pytest.mark.parametrize(
    ("text", "share"),
    [("1/3", Fraction(1, 3)), ("2 / 5", Fraction(2, 5)), ("33,34", Fraction(3334, 10000)), ("60 %", Fraction(3, 5)),
     ("0", Fraction(0)), ("", Fraction(0)), ("33.333333", Fraction(33333333, 100000000))],
)  # fmt: skip
def test_a_share_is_typed_as_a_fraction_or_a_per_cent(text, share):
    assert parse_share(text) == share


@pytest.mark.parametrize("text", ["4/3", "1/0", "-10", "101", "ein Drittel", "1/3/4"])
def test_a_share_that_is_no_fraction_of_the_whole_is_refused_with_a_reason(text):
    with pytest.raises(ValueError, match="Anteil"):
        parse_share(text)


def test_two_hundred_random_grants_in_thirds_stay_within_a_cent_of_the_exact_thirds(programme, people):
    runs = []
    grantees = [make_application(programme=programme, applicant=people.alice) for _ in range(200)]

    @settings(max_examples=2, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.integers(1, 2_000_000), min_size=200, max_size=200))
    def run(grants):
        try:
            with transaction.atomic():
                allocation = _allocation(programme, "9999999.99", THIRDS)
                committed = 0
                for n, grant in enumerate(grants):
                    entry = ledger_commit(
                        programme_id=programme.pk, year=2026, application=grantees[n], amount=D(grant) / 100,
                        by=people.approver,
                    )  # fmt: skip
                    assert sum(to_cents(getattr(entry, f"{s}_amount")) for s in SHARES) == grant
                    committed += grant
                    by_share = allocation_balance_by_share(allocation)
                    for share in SHARES:
                        exact = committed * THIRDS[share]
                        assert abs(to_cents(by_share[share].committed) - exact) <= CENT, (n, share)
                        assert by_share[share].available >= 0
                assert LedgerEntry.objects.filter(allocation=allocation).count() == 200
                assert totals.differences() == []
                runs.append(len(grants))
                raise Rollback
        except Rollback:
            pass

    run()
    assert runs and all(n == 200 for n in runs)


@st.composite
def shares(draw):
    """Four shares summing to exactly one: thirds, halves, per cents with two places or random fractions."""
    kind = draw(st.sampled_from(["thirds", "percent", "fractions"]))
    if kind == "thirds":
        return THIRDS
    if kind == "percent":
        cuts = sorted(draw(st.lists(st.integers(0, 10000), min_size=3, max_size=3)))
        parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 10000 - cuts[2]]
        return {s: Fraction(p, 10000) for s, p in zip(SHARES, parts, strict=True)}
    whole = draw(st.integers(1, 97))
    cuts = sorted(draw(st.lists(st.integers(0, whole), min_size=3, max_size=3)))
    parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], whole - cuts[2]]
    return {s: Fraction(p, whole) for s, p in zip(SHARES, parts, strict=True)}


STEPS = ["commit", "release", "pay_part", "pay_final", "withdraw", "reclaim"]
# One life of every kind: committed, paid in part, paid finally, reclaimed; committed and withdrawn; released in part.
TOUR = [
    ("commit", 0, 100000), ("pay_part", 0, 33333), ("pay_final", 0, 33333), ("reclaim", 0, 101),
    ("commit", 1, 1), ("withdraw", 1, 0), ("commit", 2, 77777), ("release", 2, 7), ("pay_final", 2, 50000),
    ("commit", 3, 3), ("pay_part", 3, 1), ("release", 3, 1), ("pay_final", 3, 1),
]  # fmt: skip


def _allocation_drift(allocation, weights) -> Fraction:
    by_share = allocation_balance_by_share(allocation)
    total = to_cents(by_share["total"].committed)
    return max(abs(to_cents(by_share[s].committed) - total * weights[s]) for s in SHARES)


def _exact_within_a_cent(figure: dict, total: int, reference: dict[str, Fraction]) -> bool:
    return all(abs(figure[s] - total * reference[s]) <= CENT for s in SHARES)


def test_over_random_case_lives_every_share_stays_exact(programme, cases, people):
    """After every step: parts add up, the case's figures are the exact split of its totals by its commitment,
    a closed case has paid + released = committed per share, no share is over-committed, the totals reconcile."""
    taken: Counter[str] = Counter()

    @settings(max_examples=30, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        weights=shares(),
        amount=st.integers(10_000, 50_000_000),
        # A step's amount: up to 11 cents (the rounding's edges), or per mille of what the step could book.
        steps=st.lists(
            st.tuples(st.sampled_from(STEPS), st.integers(0, 4), st.integers(-10, 1000)), min_size=10, max_size=50
        ),
    )
    @example(weights=THIRDS, amount=300_000, steps=TOUR)  # TOUR's amounts are cents
    def run(weights, amount, steps):
        try:
            with transaction.atomic():
                allocation = _allocation(programme, str(D(amount) / 100), weights)
                changed = False  # a later commitment of a case (a change) follows the case, not the allocation
                for step, index, size in steps:
                    case = cases[index]
                    first = step == "commit" and case_figures(allocation, case).reference is None
                    if _take(step, programme, case, size, people, allocation, tour=steps is TOUR):
                        taken[step] += 1
                        changed = changed or (step == "commit" and not first)
                        if first and not changed:  # a new grant books the allocation back to within a cent
                            assert _allocation_drift(allocation, weights) <= CENT
                    _check(allocation, cases, weights)
                raise Rollback
        except Rollback:
            pass

    run()
    assert set(taken) == set(STEPS) and sum(taken.values()) >= 100, taken


def _take(step, programme, case, size, people, allocation, *, tour=False) -> bool:
    figures = case_figures(allocation, case)
    open_ = sum(figures.committed.values()) - sum(figures.paid.values())
    paid = sum(figures.paid.values())
    base = {"commit": to_cents(allocation_balance_by_share(allocation)["total"].available) // 3, "reclaim": paid}
    cents = size if tour else 1 - size if size <= 0 else max(1, base.get(step, open_) * size // 1000)
    kwargs = {"programme_id": programme.pk, "year": 2026, "application": case, "by": people.finance}
    try:
        with transaction.atomic():
            if step == "commit":
                ledger_commit(amount=D(cents) / 100, **kwargs)
            elif step == "release" and 0 < cents < open_:
                ledger_release(amount=D(cents) / 100, **kwargs)
            elif step == "pay_part" and 0 < cents < open_:
                ledger_pay(amount=D(cents) / 100, final=False, **kwargs)
            elif step == "pay_final" and open_ > 0:
                ledger_pay(amount=D(min(cents, open_)) / 100, **kwargs)
            elif step == "withdraw" and open_ > 0 and paid == 0:
                ledger_release(amount=D(open_) / 100, **kwargs)
            elif step == "reclaim" and 0 < cents <= paid:
                ledger_reclaim(amount=D(cents) / 100, **kwargs)
            else:
                return False
    except BudgetError as refused:
        assert step == "commit", (step, str(refused))  # only a commitment can meet an allocation too small
        # ... and only when the total, or a share for its exact part less a cent, has not enough.
        by_share = allocation_balance_by_share(allocation)
        fits = cents <= to_cents(by_share["total"].available) and all(
            to_cents(by_share[s].available) >= cents * allocation.shares[s] - 1 for s in SHARES
        )
        assert not fits, (cents, str(refused))
        return False
    return True


def _check(allocation, cases, weights):
    by_share = allocation_balance_by_share(allocation)
    for share in SHARES:
        assert by_share[share].available >= 0, share
        assert by_share[share].allocation == split_amount(allocation.amount, weights)[share]
    assert sum(by_share[s].committed for s in SHARES) == by_share["total"].committed
    for case in cases:
        figures = case_figures(allocation, case)
        gross = sum(figures.committed_gross.values())
        if not gross:
            continue
        reference = figures.reference
        committed, paid = sum(figures.committed.values()), sum(figures.paid.values())
        assert all(figures.paid[s] >= 0 and figures.committed[s] >= figures.paid[s] for s in SHARES), figures
        assert _exact_within_a_cent(figures.committed, committed, reference), figures
        assert _exact_within_a_cent(figures.paid, paid, reference), figures
        if committed == paid:  # closed (or paid in full): per share, paid + released = committed
            assert figures.committed == figures.paid, figures
    assert totals.differences(Allocation.objects.filter(pk=allocation.pk)) == []


def test_a_closed_case_has_paid_plus_released_equal_committed_per_share(programme, cases, people):
    allocation = _allocation(programme, "10000.00", THIRDS)
    kwargs = {"programme_id": programme.pk, "year": 2026, "application": cases[0], "by": people.finance}
    ledger_commit(amount=D("1000.00"), **kwargs)
    ledger_pay(amount=D("333.33"), final=False, **kwargs)
    ledger_pay(amount=D("0.01"), final=False, **kwargs)
    ledger_pay(amount=D("500.00"), **kwargs)
    entries = LedgerEntry.objects.filter(application=cases[0]).order_by("id")
    assert [e.kind for e in entries] == ["commitment", "payment", "payment", "payment", "release"]
    for share in SHARES:
        by_kind = Counter()
        for entry in entries:
            by_kind[entry.kind] += getattr(entry, f"{share}_amount")
        assert by_kind["payment"] + by_kind["release"] == by_kind["commitment"], share
    assert allocation_balance_by_share(allocation)["state"].committed == D("277.78")  # 833.34 paid, in thirds


def test_a_share_that_cannot_carry_its_part_refuses_the_commitment_naming_the_share(programme, cases, people):
    """A state share used up by an earlier booking (e.g. taken over from before shares were kept exactly)."""
    allocation = _allocation(programme, "3000.00", THIRDS)
    LedgerEntry.objects.create(
        allocation=allocation, application=cases[0], kind="commitment", amount=D("1000.00"), federal_amount=0,
        state_amount=D("1000.00"), municipal_amount=0, private_amount=0, booked_by=people.approver,
    )  # fmt: skip
    totals.rebuild(Allocation.objects.filter(pk=allocation.pk))
    with pytest.raises(BudgetError, match="Der Anteil Land der Mittelausstattung 2026 reicht nicht"):
        ledger_commit(
            programme_id=programme.pk, year=2026, application=cases[1], amount=D("300.00"), by=people.approver
        )
    assert LedgerEntry.objects.count() == 1 and allocation_balance_by_share(allocation)["total"].available == D("2000")


def test_the_totals_follow_every_booking_and_ledger_reconcile_finds_a_difference(programme, cases, people, capsys):
    allocation = _allocation(programme, "10000.00", THIRDS)
    kwargs = {"programme_id": programme.pk, "year": 2026, "application": cases[0], "by": people.finance}
    ledger_commit(amount=D("900.00"), **kwargs)
    ledger_pay(amount=D("800.00"), **kwargs)
    assert entry_count(allocation) == 3
    call_command("ledger_reconcile")
    assert "Keine Abweichungen" in capsys.readouterr().out
    LedgerTotal.objects.filter(allocation=allocation, kind="payment").update(state_amount=D("1.00"))
    # manage.py turns the CommandError into exit status 1.
    with pytest.raises(CommandError, match="1 Abweichungen in 1 Mittelausstattungen"):
        call_command("ledger_reconcile")
    out = capsys.readouterr()
    assert "payment, state_amount: geführt 1.00, aus den Buchungen 266.67" in out.out
    call_command("ledger_reconcile", "--rebuild")
    call_command("ledger_reconcile")
    assert "Keine Abweichungen" in capsys.readouterr().out
