"""Batch approval through the API: queued per case, decided by the allocation, refusals stated on the case."""

from decimal import Decimal

import pytest

from budgets.selectors import allocation_balance
from grants import tasks
from grants.models import GrantApplication, InternalNote

from ..factories import AllocationFactory, ApplicantFactory, MunicipalityFactory, ProgrammeFactory, advance
from ..factories import make_application as make

State = GrantApplication.State
pytestmark = pytest.mark.django_db
URL = "/api/applications/approve-batch/"


@pytest.fixture
def checked(programme, people):
    """Three checked cases of 7,200 € each against an allocation of 15,000 €: two fit."""
    allocation = AllocationFactory(programme=programme, amount=Decimal("15000.00"))
    cases = [advance(make(programme=programme, applicant=ApplicantFactory()), State.CHECKED, people) for _ in range(3)]
    return allocation, cases


def test_the_allocation_decides_and_a_case_it_cannot_carry_stays_checked_with_the_reason(
    checked, people, api, django_capture_on_commit_callbacks
):
    allocation, cases = checked
    with django_capture_on_commit_callbacks(execute=True):
        response = api(people.approver).post(URL, {"applications": [c.pk for c in cases]}, format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": [c.pk for c in cases], "refused": []}
    states = [GrantApplication.objects.get(pk=c.pk).state for c in cases]
    assert states == [State.APPROVED, State.APPROVED, State.CHECKED]
    note = InternalNote.objects.get()
    assert note.application_id == cases[2].pk and note.author == people.approver
    assert note.text == (
        f"Bewilligung im Stapel nicht möglich: Die Mittelausstattung {allocation.year} reicht nicht: "
        "verfügbar sind 600,00 €, der Zuschuss beträgt 7.200,00 €."
    )
    assert allocation_balance(allocation).committed == Decimal("14400.00")


def test_what_is_not_possible_at_once_is_refused_per_case_and_nothing_is_queued_for_it(
    checked, programme, people, api, django_capture_on_commit_callbacks
):
    _, cases = checked
    draft = make(programme=programme, applicant=people.alice)
    elsewhere = ProgrammeFactory(municipality=MunicipalityFactory(name="Nachbarstadt"), code="NP")
    foreign = make(programme=elsewhere, applicant=people.bob)
    ids = [cases[0].pk, draft.pk, foreign.pk, 999999, cases[0].pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = api(people.approver).post(URL, {"applications": ids, "comment": "Sitzung 3"}, format="json")

    assert response.status_code == 202
    assert response.json() == {
        "queued": [cases[0].pk],
        "refused": [
            {"application": draft.pk, "reasons": ["Im Status „Entwurf“ ist dieser Schritt nicht möglich."]},
            {"application": foreign.pk, "reasons": ["Antrag nicht gefunden."]},
            {"application": 999999, "reasons": ["Antrag nicht gefunden."]},
        ],
    }
    approved = GrantApplication.objects.get(pk=cases[0].pk)
    assert approved.state == State.APPROVED
    assert approved.ledger_entries.count() == 1


@pytest.mark.parametrize(("persona", "status"), [("caseworker", 403), ("owner", 403), ("finance", 403)])
def test_only_approvers_approve_in_a_batch(persona, status, checked, people, api):
    _, cases = checked
    response = api(getattr(people, persona)).post(URL, {"applications": [cases[0].pk]}, format="json")
    assert response.status_code == status
    assert response.json()["detail"] == "Ihre Rolle erlaubt diesen Schritt nicht."
    assert api().post(URL, {"applications": [cases[0].pk]}, format="json").status_code == 401
    assert not GrantApplication.objects.filter(state=State.APPROVED).exists()


@pytest.mark.parametrize("body", [{}, {"applications": []}, {"applications": ["x"]}, {"applications": [0]}])
def test_a_batch_without_valid_ids_is_a_400(body, people, api):
    response = api(people.approver).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["applications"]


def test_an_approval_task_delivered_twice_books_once_and_writes_no_note(checked, people):
    _, cases = checked
    for _ in range(2):
        tasks.approve_application.apply(kwargs={"application_id": cases[0].pk, "by_id": people.approver.pk}).get()
    assert GrantApplication.objects.get(pk=cases[0].pk).state == State.APPROVED
    assert cases[0].ledger_entries.count() == 1
    assert not InternalNote.objects.exists()


def test_an_approval_the_queue_does_not_take_is_refused_not_reported_as_queued(checked, people, api, monkeypatch):
    _allocation, cases = checked

    def broker_down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.approve_application, "delay", broker_down)
    response = api(people.approver).post(URL, {"applications": [cases[0].pk]}, format="json")

    assert response.status_code == 202
    assert response.json()["queued"] == []
    assert "später noch einmal" in response.json()["refused"][0]["reasons"][0]
    assert GrantApplication.objects.get(pk=cases[0].pk).state == State.CHECKED
