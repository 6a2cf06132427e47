"""Many approvers at once against one allocation: no euro is spent twice (PostgreSQL, real row locks)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from budgets.selectors import allocation_balance
from core.errors import DomainError
from grants import services
from grants.models import GrantApplication

from ..factories import AllocationFactory, ApplicantFactory, UserFactory, advance, make_application

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

APPROVERS = 24


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
    start = threading.Barrier(APPROVERS, timeout=60)
    outcomes = []

    def approve(application, approver):
        try:
            start.wait()
            services.application_approve(application_id=application.pk, by=approver)
            outcomes.append("approved")
        except DomainError as refused:
            outcomes.append(str(refused))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=pair) for pair in zip(applications, approvers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("approved") == 6
    assert all("reicht nicht" in outcome for outcome in outcomes if outcome != "approved")
    assert GrantApplication.objects.filter(state="approved").count() == 6
    balance = allocation_balance(allocation)
    assert balance.committed == Decimal("43200.00")
    assert balance.available == Decimal("6800.00")
    assert allocation.entries.count() == 6


def test_concurrent_double_clicks_approve_once(programme, people, allocation):
    application = advance(make_application(programme=programme, applicant=people.alice), "checked", people)
    start = threading.Barrier(8, timeout=60)
    outcomes = []

    def approve():
        try:
            start.wait()
            services.application_approve(application_id=application.pk, by=people.approver)
            outcomes.append("approved")
        except DomainError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("approved") == 1
    assert application.ledger_entries.count() == 1
