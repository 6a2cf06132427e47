"""Budget years: commitments planned per cash year, payments from the year they are paid in, carry-over by two."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from budgets import carry_overs
from budgets.models import Allocation, CarryOver, CashFrame, LedgerEntry
from budgets.selectors import budget_years
from budgets.services import BudgetError, case_years, ledger_commit, ledger_pay, ledger_release
from budgets.shares import SHARES
from core.errors import DomainError
from reports.statements import write_statement

from ..factories import ApplicantFactory, UserFactory, make_application

Y = timezone.localdate().year
Kind = LedgerEntry.Kind


@pytest.fixture
def thirds(programme):
    return Allocation.objects.create(
        programme=programme, year=Y, amount=Decimal("100000.00"),
        federal_share="1/3", state_share="1/3", municipal_share="1/3",
    )  # fmt: skip


@pytest.fixture
def second_finance(musterstadt):
    return UserFactory(roles=["finance"], municipalities=[musterstadt], username="franz")


@pytest.fixture
def next_year(monkeypatch):
    """Move the ledger's clock into the next budget year (the rest of the service keeps today)."""

    def move(year=Y + 1):
        monkeypatch.setattr("budgets.services.this_year", lambda: year)
        monkeypatch.setattr("budgets.carry_overs.this_year", lambda: year)

    return move


def _case(programme):
    return make_application(programme=programme, applicant=ApplicantFactory())


def _year(allocation, year):
    return next(y for y in budget_years(allocation) if y.year == year)


def _parts(entry):
    return {s: getattr(entry, f"{s}_amount") for s in SHARES}


def _case_sums(allocation, application):
    sums = {kind: dict.fromkeys(SHARES, Decimal("0")) for kind in Kind.values}
    for entry in LedgerEntry.objects.filter(allocation=allocation, application=application):
        for share in SHARES:
            sums[entry.kind][share] += getattr(entry, f"{share}_amount")
    return sums


def test_a_case_across_the_year_boundary_is_paid_from_the_cash_carried_over(
    thirds, people, second_finance, next_year, client
):
    application = _case(thirds.programme)
    ledger_commit(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("9000.01"),
                  by=people.approver, expected_year=Y)  # fmt: skip
    ledger_pay(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("3000.00"),
               by=people.finance, final=False)  # fmt: skip
    first = _year(thirds, Y)
    assert (first.cash, first.committed, first.paid, first.planned, first.available) == (
        Decimal("100000.00"), Decimal("9000.01"), Decimal("3000.00"), Decimal("6000.01"), Decimal("90999.99"),
    )  # fmt: skip

    next_year()
    # The commitment still sits in last year's cash: paying from this year's needs the carry-over first.
    with pytest.raises(BudgetError, match="Übertrag"):
        ledger_pay(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("5000.00"),
                   by=people.finance)  # fmt: skip
    assert application.ledger_entries.count() == 2

    carry = carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=people.finance, comment="Reste")
    assert (carry.amount, carry.committed, carry.cases) == (Decimal("97000.00"), Decimal("6000.01"), 1)
    with pytest.raises(DomainError, match="Vier-Augen") as same_person:
        carry_overs.carry_over_confirm(carry_over_id=carry.pk, by=people.finance)
    assert same_person.value.status == 403
    carry_overs.carry_over_confirm(carry_over_id=carry.pk, by=second_finance)

    old, new = _year(thirds, Y), _year(thirds, Y + 1)
    assert (old.carried_out, old.cash, old.committed, old.paid, old.available) == (
        Decimal("97000.00"), Decimal("3000.00"), Decimal("3000.00"), Decimal("3000.00"), Decimal("0.00"),
    )  # fmt: skip
    assert (new.carried_in, new.cash, new.committed, new.planned, new.available) == (
        Decimal("97000.00"), Decimal("97000.00"), Decimal("6000.01"), Decimal("6000.01"), Decimal("90999.99"),
    )  # fmt: skip

    ledger_pay(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("5000.00"),
               by=people.finance)  # fmt: skip
    new = _year(thirds, Y + 1)
    assert (new.committed, new.paid, new.planned, new.available) == (
        Decimal("5000.00"), Decimal("5000.00"), Decimal("0.00"), Decimal("92000.00"),
    )  # fmt: skip
    payment = application.ledger_entries.filter(kind=Kind.PAYMENT).last()
    assert payment.cash_year == Y + 1
    # Per share: every entry splits exactly; paid + released = committed for the case, and in each year.
    for entry in application.ledger_entries.all():
        assert sum(_parts(entry).values()) == entry.amount
    sums = _case_sums(thirds, application)
    for share in SHARES:
        assert sums[Kind.PAYMENT][share] + sums[Kind.RELEASE][share] == sums[Kind.COMMITMENT][share]
        assert sums[Kind.SHIFT_IN][share] == sums[Kind.SHIFT_OUT][share]
    for year, figures in case_years(thirds, application).items():
        assert figures.open == dict.fromkeys(SHARES, 0), year
    assert {s: v for s, v in sums[Kind.COMMITMENT].items() if s != "private"} == {
        "federal": Decimal("3000.01"), "state": Decimal("3000.00"), "municipal": Decimal("3000.00"),
    }  # fmt: skip
    call_command("ledger_reconcile")

    # The statement of the programme year shows both budget years with the carry-over between them.
    target = io.BytesIO()
    write_statement([thirds.programme], Y, target, narrative="Bericht")
    summary = load_workbook(io.BytesIO(target.getvalue()))["Übersicht"]
    rows = {row[0]: row for row in summary.iter_rows(values_only=True) if row and row[0]}
    name = thirds.programme.name
    assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in rows[f"{name} {Y} – {Y}"][1:6]] == [
        Decimal("100000.00"), Decimal("-97000.00"), Decimal("3000.00"), Decimal("3000.00"), Decimal("0.00"),
    ]  # fmt: skip
    assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in rows[f"{name} {Y} – {Y + 1}"][1:6]] == [
        Decimal("0.00"), Decimal("97000.00"), Decimal("5000.00"), Decimal("5000.00"), Decimal("92000.00"),
    ]  # fmt: skip

    client.force_login(people.auditor)
    page = client.get(reverse("workspace:allocation", args=[thirds.pk])).content.decode()
    assert "Haushaltsjahre" in page and f"{Y} → {Y + 1}" in page and "97.000,00" in page and "92.000,00" in page
    years = client.get(f"/api/allocations/{thirds.pk}/balance/").json()["years"]
    assert [
        (y["year"], y["carried_in"], y["carried_out"], y["committed"], y["paid"], y["available"]) for y in years
    ] == [
        (Y, "0.00", "97000.00", "3000.00", "3000.00", "0.00"),
        (Y + 1, "97000.00", "0.00", "5000.00", "5000.00", "92000.00"),
    ]


def test_an_approval_is_planned_into_the_year_its_invoices_are_due(programme, people):
    allocation = Allocation.objects.create(programme=programme, year=Y, amount=Decimal("30000.00"), state_percent=100)
    CashFrame.objects.create(allocation=allocation, year=Y, amount=Decimal("10000.00"))
    CashFrame.objects.create(allocation=allocation, year=Y + 1, amount=Decimal("20000.00"))
    later, now = _case(programme), _case(programme)

    ledger_commit(programme_id=programme.pk, year=Y, application=later, amount=Decimal("15000.00"),
                  by=people.approver, expected_year=Y + 1)  # fmt: skip
    assert {y: f.committed for y, f in case_years(allocation, later).items()} == {
        Y: {"federal": 0, "state": 0, "municipal": 0, "private": 0},
        Y + 1: {"federal": 0, "state": 1500000, "municipal": 0, "private": 0},
    }
    # This year's 10,000 € are free; the rest of a grant expected now goes into next year's appropriation.
    ledger_commit(programme_id=programme.pk, year=Y, application=now, amount=Decimal("12000.00"),
                  by=people.approver, expected_year=Y)  # fmt: skip
    assert [(y.year, y.committed, y.available) for y in budget_years(allocation)] == [
        (Y, Decimal("10000.00"), Decimal("0.00")), (Y + 1, Decimal("17000.00"), Decimal("3000.00")),
    ]  # fmt: skip
    # The years together carry no more than 3,000 €: a larger grant is refused and books nothing.
    third = _case(programme)
    with pytest.raises(BudgetError):
        ledger_commit(programme_id=programme.pk, year=Y, application=third, amount=Decimal("3000.01"),
                      by=people.approver)  # fmt: skip
    assert not third.ledger_entries.exists()


def test_a_payment_earlier_than_planned_takes_this_years_cash_only_where_it_has_room(programme, people):
    allocation = Allocation.objects.create(programme=programme, year=Y, amount=Decimal("20000.00"), state_percent=100)
    CashFrame.objects.create(allocation=allocation, year=Y, amount=Decimal("5000.00"))
    CashFrame.objects.create(allocation=allocation, year=Y + 1, amount=Decimal("15000.00"))
    application = _case(programme)
    ledger_commit(programme_id=programme.pk, year=Y, application=application, amount=Decimal("12000.00"),
                  by=people.approver, expected_year=Y + 1)  # fmt: skip

    with pytest.raises(BudgetError, match="Ausgabemittel"):
        ledger_pay(programme_id=programme.pk, year=Y, application=application, amount=Decimal("6000.00"),
                   by=people.finance, final=False)  # fmt: skip
    ledger_pay(programme_id=programme.pk, year=Y, application=application, amount=Decimal("4000.00"),
               by=people.finance, final=False)  # fmt: skip
    figures = {y.year: y for y in budget_years(allocation)}
    assert (figures[Y].committed, figures[Y].paid) == (Decimal("4000.00"), Decimal("4000.00"))
    assert (figures[Y + 1].committed, figures[Y + 1].planned) == (Decimal("8000.00"), Decimal("8000.00"))
    # A release gives up the money expected furthest ahead first.
    ledger_release(programme_id=programme.pk, year=Y, application=application, amount=Decimal("1000.00"),
                   by=people.approver)  # fmt: skip
    assert application.ledger_entries.filter(kind=Kind.RELEASE).get().cash_year == Y + 1
    call_command("ledger_reconcile")


def test_carry_over_is_refused_before_the_year_ends_twice_and_to_other_roles(thirds, people, next_year):
    application = _case(thirds.programme)
    ledger_commit(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("100.00"),
                  by=people.approver)  # fmt: skip
    with pytest.raises(DomainError, match="noch nicht abgelaufen") as early:
        carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=people.finance)
    assert early.value.status == 409
    next_year()
    for person in (people.caseworker, people.approver, people.auditor):
        with pytest.raises(DomainError) as refused:
            carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=person)
        assert refused.value.status == 403
    with pytest.raises(DomainError) as foreign:
        carry_overs.carry_over_propose(
            allocation_id=thirds.pk, from_year=Y,
            by=UserFactory(roles=["finance"], municipalities=[people.foreign_caseworker.municipalities.get()]),
        )  # fmt: skip
    assert foreign.value.status == 404
    first = carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=people.finance)
    with pytest.raises(DomainError, match="schon einen Übertrag") as twice:
        carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=people.finance)
    assert twice.value.status == 409
    carry_overs.carry_over_cancel(carry_over_id=first.pk, by=people.finance)
    again = carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=people.finance)
    assert again.status == CarryOver.Status.PROPOSED
    with pytest.raises(DomainError, match="schon verworfen"):
        carry_overs.carry_over_confirm(carry_over_id=first.pk, by=people.finance)


def test_a_failure_in_the_middle_of_a_carry_over_books_nothing(thirds, people, second_finance, next_year, monkeypatch):
    cases = [_case(thirds.programme) for _ in range(3)]
    for application in cases:
        ledger_commit(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("10.00"),
                      by=people.approver)  # fmt: skip
    next_year()
    carry = carry_overs.carry_over_propose(allocation_id=thirds.pk, from_year=Y, by=people.finance)
    booked = []
    real = carry_overs._shift

    def fail_on_the_third(*args, **kwargs):
        booked.append(args[1])
        if len(booked) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(carry_overs, "_shift", fail_on_the_third)
    with pytest.raises(RuntimeError):
        carry_overs.carry_over_confirm(carry_over_id=carry.pk, by=second_finance)
    assert not LedgerEntry.objects.filter(kind__in=[Kind.SHIFT_IN, Kind.SHIFT_OUT]).exists()
    carry.refresh_from_db()
    assert carry.status == CarryOver.Status.PROPOSED
    call_command("ledger_reconcile")


def test_the_carry_over_pages_by_role(thirds, people, second_finance, next_year, client):
    application = _case(thirds.programme)
    ledger_commit(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("500.00"),
                  by=people.approver)  # fmt: skip
    next_year()
    monkeypatch_today = pytest.MonkeyPatch()
    monkeypatch_today.setattr("reports.views.timezone.localdate", lambda: timezone.datetime(Y + 1, 1, 15).date())
    try:
        url = reverse("workspace:carry_over_new", args=[thirds.pk])
        client.force_login(people.caseworker)
        assert client.post(url, {"from_year": Y}).status_code == 403
        client.force_login(people.foreign_caseworker)
        assert client.post(url, {"from_year": Y}).status_code == 404
        client.force_login(people.finance)
        page = client.get(reverse("workspace:allocation", args=[thirds.pk])).content.decode()
        assert "Übertrag vorschlagen" in page
        assert client.post(url, {"from_year": "1999"}).status_code == 400
        response = client.post(url, {"from_year": Y, "comment": "Jahresabschluss"})
        assert response.status_code == 302
        carry = CarryOver.objects.get()
        confirm = reverse("workspace:carry_over_confirm", args=[thirds.pk, carry.pk])
        refused = client.post(confirm)
        assert refused.status_code == 403 and "Vier-Augen" in refused.content.decode()
        client.force_login(second_finance)
        assert client.post(confirm).status_code == 302
        carry.refresh_from_db()
        assert carry.status == CarryOver.Status.BOOKED and carry.decided_by == second_finance
        assert client.post(confirm).status_code == 409
    finally:
        monkeypatch_today.undo()


def test_the_command_proposes_and_a_second_person_confirms(thirds, people, second_finance, next_year, capsys):
    application = _case(thirds.programme)
    ledger_commit(programme_id=thirds.programme_id, year=Y, application=application, amount=Decimal("250.00"),
                  by=people.approver)  # fmt: skip
    next_year()
    call_command("carry_over", "--by", people.finance.username, "--propose", str(Y))
    carry = CarryOver.objects.get()
    assert "1 Überträge vorgeschlagen" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Vier-Augen"):
        call_command("carry_over", "--by", people.finance.username, "--confirm", str(carry.pk))
    call_command("carry_over", "--by", second_finance.username, "--confirm", str(carry.pk))
    assert "gebucht" in capsys.readouterr().out
    assert _year(thirds, Y + 1).committed == Decimal("250.00")


def test_the_budget_years_read_in_constant_queries(thirds, people, django_assert_num_queries):
    for _ in range(5):
        ledger_commit(programme_id=thirds.programme_id, year=Y, application=_case(thirds.programme),
                      amount=Decimal("10.00"), by=people.approver)  # fmt: skip
    with django_assert_num_queries(3):
        budget_years(thirds)


def test_carry_overs_are_only_shown_in_the_admin(thirds, people, admin_client):
    carry = CarryOver.objects.create(allocation=thirds, from_year=Y, proposed_by=people.finance)
    assert admin_client.get(reverse("admin:budgets_carryover_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:budgets_carryover_add")).status_code == 403
    change = reverse("admin:budgets_carryover_change", args=[carry.pk])
    assert admin_client.post(change, {"status": "booked"}).status_code == 403
    carry.refresh_from_db()
    assert carry.status == CarryOver.Status.PROPOSED
