"""Many approvers at once against one allocation: no euro is spent twice (PostgreSQL, real row locks)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from budgets import totals
from budgets.models import Allocation, LedgerEntry
from budgets.selectors import allocation_balance, allocation_balance_by_share
from core.errors import DomainError
from grants import services
from grants.models import GrantApplication

from ..factories import AllocationFactory, ApplicantFactory, UserFactory, advance, make_application

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

APPROVERS = 24


def run_at_once(target, argument_lists) -> list[str]:
    """Run ``target`` in one thread per argument list, all released together; every thread must report.

    A thread that dies with anything but a refusal reports it as "crashed: …", and a thread that
    never finishes fails the test: a missing outcome is never taken for a refusal.
    """
    start = threading.Barrier(len(argument_lists), timeout=60)
    outcomes: dict[int, str] = {}

    def run(index, arguments):
        try:
            start.wait()
            target(*arguments)
            outcomes[index] = "approved"
        except DomainError as refused:
            outcomes[index] = str(refused)
        except BaseException as crashed:  # noqa: BLE001 - reported, and the test fails on it
            outcomes[index] = f"crashed: {crashed!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, args)) for i, args in enumerate(argument_lists)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "a thread did not finish"
    assert sorted(outcomes) == list(range(len(argument_lists))), f"threads without an outcome: {outcomes}"
    crashed = [o for o in outcomes.values() if o.startswith("crashed: ")]
    assert not crashed, crashed
    return list(outcomes.values())


def test_concurrent_approvals_never_over_commit_the_allocation(programme, people):
    # Each grant is 7,200 €; 50,000 € carry six of them and leave 6,800 €.
    allocation = AllocationFactory(programme=programme, amount=Decimal("50000.00"))
    applications = [
        advance(
            make_application(programme=programme, applicant=ApplicantFactory()), GrantApplication.State.CHECKED, people
        )
        for _ in range(APPROVERS)
    ]
    approvers = [UserFactory(roles=["approver"], municipalities=[programme.municipality]) for _ in range(APPROVERS)]

    def approve(application, approver):
        services.application_approve(application_id=application.pk, by=approver)

    outcomes = run_at_once(approve, list(zip(applications, approvers, strict=True)))

    assert len(outcomes) == APPROVERS
    assert outcomes.count("approved") == 6
    assert all("reicht nicht" in o or "Warteliste" in o for o in outcomes if o != "approved")
    # The waiting list's order holds: the six checked first are approved, whichever approver came first.
    assert set(GrantApplication.objects.filter(state="approved").values_list("pk", flat=True)) == {
        a.pk for a in applications[:6]
    }
    balance = allocation_balance(allocation)
    assert balance.committed == Decimal("43200.00")
    assert balance.available == Decimal("6800.00")
    assert allocation.entries.count() == 6


def test_concurrent_double_clicks_approve_once(programme, people, allocation):
    application = advance(make_application(programme=programme, applicant=people.alice), "checked", people)

    def approve():
        services.application_approve(application_id=application.pk, by=people.approver)

    outcomes = run_at_once(approve, [()] * 8)

    assert len(outcomes) == 8 and outcomes.count("approved") == 1
    assert application.ledger_entries.count() == 1


def test_concurrent_approvals_never_over_commit_one_share_while_the_total_has_room(programme, people):
    """The state's third is nearly used up by a booking taken over from before (15,200 € of its 20,000 €), while
    the allocation as a whole still has 44,800 €: two grants of 7,200 € fit the state's 4,800 €, no third one."""
    allocation = Allocation.objects.create(programme=programme, year=timezone.localdate().year,
                                           amount=Decimal("60000.00"), federal_share="1/3", state_share="1/3",
                                           municipal_share="1/3")  # fmt: skip
    legacy = make_application(programme=programme, applicant=ApplicantFactory())
    LedgerEntry.objects.create(
        allocation=allocation, application=legacy, kind="commitment", amount=Decimal("15200.00"),
        federal_amount=0, state_amount=Decimal("15200.00"), municipal_amount=0, private_amount=0,
        booked_by=people.approver, comment="Altfall",
    )  # fmt: skip
    totals.rebuild(Allocation.objects.filter(pk=allocation.pk))
    count = 8
    applications = [
        advance(
            make_application(programme=programme, applicant=ApplicantFactory()), GrantApplication.State.CHECKED, people
        )
        for _ in range(count)
    ]
    approvers = [UserFactory(roles=["approver"], municipalities=[programme.municipality]) for _ in range(count)]

    def approve(application, approver):
        services.application_approve(application_id=application.pk, by=approver)

    outcomes = run_at_once(approve, list(zip(applications, approvers, strict=True)))

    assert outcomes.count("approved") == 2
    refused = [o for o in outcomes if o != "approved"]
    # Refused by the state's share, or by the waiting list's order where the cases before it take the total's room.
    assert all(
        ("Der Anteil Land der Mittelausstattung" in o and "reicht nicht" in o) or o.startswith("Warteliste")
        for o in refused
    ), refused
    assert any("Der Anteil Land der Mittelausstattung" in o for o in refused)
    by_share = allocation_balance_by_share(allocation)
    assert by_share["total"].available == Decimal("60000.00") - Decimal("15200.00") - 2 * Decimal("7200.00")
    assert all(by_share[share].available >= 0 for share in ("federal", "state", "municipal", "private"))
    assert by_share["state"].committed <= by_share["state"].allocation
    assert totals.differences() == []


def test_racing_changes_never_raise_grants_beyond_what_the_allocation_carries(programme, people):
    """Approved cases of 7,200 € each ask to grow to 10,000 € (2,800 € more); the allocation's last 6,000 € carry
    two such changes, never a third, however the approvals interleave."""
    count = 6
    AllocationFactory(programme=programme, amount=Decimal(7200 * count + 6000))
    applications = [
        advance(make_application(programme=programme, applicant=ApplicantFactory()), "approved", people)
        for _ in range(count)
    ]
    larger = [
        services.ComponentInput(
            "facade", Decimal("250"), (services.CostInput("Fassade", Decimal("50000.00"), Decimal("9500.00")),)
        )
    ]
    for application in applications:
        services.change_request(
            application_id=application.pk, by=application.applicant.user, components=larger, reason="Giebel"
        )
        services.change_check(application_id=application.pk, by=people.caseworker)
    approvers = [UserFactory(roles=["approver"], municipalities=[programme.municipality]) for _ in range(count)]

    def approve_change(application, approver):
        services.change_approve(application_id=application.pk, by=approver)

    outcomes = run_at_once(approve_change, list(zip(applications, approvers, strict=True)))

    assert outcomes.count("approved") == 2
    assert all("reicht nicht" in outcome for outcome in outcomes if outcome != "approved")
    grants = sorted(GrantApplication.objects.values_list("approved_grant", flat=True))
    assert grants == [Decimal("7200.00")] * (count - 2) + [Decimal("10000.00")] * 2
    allocation = Allocation.objects.get(programme=programme)
    balance = allocation_balance(allocation)
    assert balance.committed == Decimal(7200 * count + 2 * 2800) and balance.available == Decimal("400.00")
    by_share = allocation_balance_by_share(allocation)
    shares = ("federal", "state", "municipal", "private")
    assert sum(by_share[share].committed for share in shares) == balance.committed
    assert all(by_share[share].available >= 0 for share in shares)
    # The refused changes are still open, their cases as approved before.
    assert GrantApplication.objects.filter(open_change__isnull=False).count() == count - 2


def test_the_same_change_approved_twice_at_once_books_once(programme, people, allocation):
    application = advance(make_application(programme=programme, applicant=people.alice), "approved", people)
    larger = [
        services.ComponentInput(
            "facade", Decimal("250"), (services.CostInput("Fassade", Decimal("50000.00"), Decimal("9500.00")),)
        )
    ]
    services.change_request(application_id=application.pk, by=people.owner, components=larger, reason="Giebel")
    services.change_check(application_id=application.pk, by=people.caseworker)

    outcomes = run_at_once(lambda: services.change_approve(application_id=application.pk, by=people.approver), [()] * 6)

    assert outcomes.count("approved") == 1
    assert [e.amount for e in application.ledger_entries.order_by("pk")] == [Decimal("7200.00"), Decimal("2800.00")]
