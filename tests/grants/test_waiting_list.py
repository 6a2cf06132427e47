"""The waiting list: checked cases are approved in the order they were found complete; owners and approvers hear."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from core.errors import DomainError
from grants import services, waiting
from grants.models import GrantApplication

from ..factories import AllocationFactory, ApplicantFactory, UserFactory, advance, make_application

GRANT = Decimal("7200.00")  # what the factory's application gets


def _checked(programme, people, n):
    return [
        advance(make_application(programme=programme, applicant=ApplicantFactory()), "checked", people)
        for _ in range(n)
    ]


def test_approvals_follow_the_order_the_cases_were_found_complete(
    programme, people, client, django_capture_on_commit_callbacks
):
    AllocationFactory(programme=programme, amount=Decimal("16000.00"))
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = _checked(programme, people, 3)
    assert [(p.position, p.fits) for p in waiting.queue(programme.pk)] == [(1, True), (2, True), (3, False)]

    # The third would take money the first two need: refused (409) with the reason, nothing booked.
    with pytest.raises(DomainError, match="Warteliste") as refused:
        services.application_approve(application_id=third.pk, by=people.approver)
    assert refused.value.status == 409 and not third.ledger_entries.exists()
    services.application_approve(application_id=second.pk, by=people.approver)
    services.application_approve(application_id=first.pk, by=people.approver)
    with pytest.raises(DomainError, match="reicht nicht"):
        services.application_approve(application_id=third.pk, by=people.approver)

    # The owner of the third was told at the check that the case waits, and why; the others were not.
    waiting_mail = [m for m in mail.outbox if "wartet auf Fördermittel" in m.subject]
    assert [m.to for m in waiting_mail] == [[third.applicant.user.email]]
    assert "Platz 3 der Warteliste" in waiting_mail[0].body and "14.400,00 €" in waiting_mail[0].body
    client.force_login(third.applicant.user)
    page = client.get(reverse("portal:application", args=[third.pk])).content.decode()
    assert "Platz 1 der Warteliste" in page  # the two before it are approved now

    # The first owner withdraws: the money released is offered to the approvers, the third case once.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.application_withdraw(application_id=first.pk, by=first.applicant.user, comment="Verkauf")
    offers = [m for m in mail.outbox if m.subject.startswith("Mittel frei")]
    assert len(offers) == 1 and third.file_number in offers[0].subject and people.approver.email in offers[0].to
    services.application_approve(application_id=third.pk, by=people.approver)


def test_the_waiting_list_page_by_role_in_constant_queries(programme, people, client, django_assert_max_num_queries):
    AllocationFactory(programme=programme, amount=Decimal("10000.00"))
    cases = _checked(programme, people, 2)
    url = reverse("workspace:waiting_list")
    client.force_login(people.approver)
    page = client.get(url).content.decode()
    assert cases[0].file_number in page and "finanzierbar" in page and "wartet auf Mittel" in page
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    cases += _checked(programme, people, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
    client.force_login(people.foreign_caseworker)
    assert cases[0].file_number not in client.get(url).content.decode()
    client.force_login(people.owner)
    assert client.get(url).status_code in (302, 403)


def _race(calls: dict) -> dict:
    """Run every call in its own thread, all released together; each reports "done" or its refusal."""
    start = threading.Barrier(len(calls), timeout=60)
    outcomes = {}

    def run(name, call):
        try:
            start.wait()
            call()
            outcomes[name] = "done"
        except DomainError as refused:
            outcomes[name] = str(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == sorted(calls), outcomes
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_order_holds_under_concurrent_approvals(programme, people):
    """The allocation carries one of two checked cases: the one behind is never approved, whoever comes first."""
    AllocationFactory(programme=programme, amount=GRANT)
    head, behind = _checked(programme, people, 2)
    approvers = [UserFactory(roles=["approver"], municipalities=[programme.municipality]) for _ in range(4)]
    outcomes = _race(
        {
            **{f"behind-{i}": (lambda a=a: services.application_approve(application_id=behind.pk, by=a))
               for i, a in enumerate(approvers[:3])},
            "head": lambda: services.application_approve(application_id=head.pk, by=approvers[3]),
        }
    )  # fmt: skip
    assert outcomes["head"] == "done"
    assert all("Warteliste" in o or "reicht nicht" in o for name, o in outcomes.items() if name != "head")
    head.refresh_from_db()
    behind.refresh_from_db()
    assert (head.state, behind.state) == ("approved", "checked")
    assert not behind.ledger_entries.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_released_money_reaches_the_case_behind_only_after_the_release(programme, people):
    """A withdrawal frees money while approvers try the second case in line: it is approved only after the release."""
    AllocationFactory(programme=programme, amount=GRANT * 2)
    approved = advance(make_application(programme=programme, applicant=ApplicantFactory()), "approved", people)
    head, behind = _checked(programme, people, 2)  # before the release the allocation carries the head only
    services.application_approve(application_id=head.pk, by=people.approver)
    approvers = [UserFactory(roles=["approver"], municipalities=[programme.municipality]) for _ in range(3)]
    outcomes = _race(
        {
            "withdraw": lambda: services.application_withdraw(
                application_id=approved.pk, by=approved.applicant.user, comment="zurück"
            ),
            **{f"behind-{i}": (lambda a=a: services.application_approve(application_id=behind.pk, by=a))
               for i, a in enumerate(approvers)},
        }
    )  # fmt: skip
    assert outcomes["withdraw"] == "done"
    behind.refresh_from_db()
    released = approved.ledger_entries.filter(kind="release").get()
    if behind.state == GrantApplication.State.APPROVED:
        assert behind.ledger_entries.get().pk > released.pk  # the money came back first
        assert list(outcomes.values()).count("done") == 2
    else:  # every approver came before the release: refused, nothing booked
        assert not behind.ledger_entries.exists()
    assert GrantApplication.objects.filter(programme=programme, state="approved").count() <= 2


def test_a_case_cut_to_its_de_minimis_ceiling_waits_with_the_cut_grant(programme, people):
    AllocationFactory(programme=programme, amount=Decimal("10000.00"))
    first, second = _checked(programme, people, 2)
    assert [p.fits for p in waiting.queue(programme.pk)] == [True, False]  # 7,200 + 7,200 > 10,000
    GrantApplication.objects.filter(pk=first.pk).update(deminimis_reduced_to=Decimal("2800.00"))
    places = waiting.queue(programme.pk)
    assert [(p.grant, p.fits) for p in places] == [(Decimal("2800.00"), True), (GRANT, True)]
    second.refresh_from_db()
    assert waiting.order_problem(second, available=Decimal("10000.00")) is None
