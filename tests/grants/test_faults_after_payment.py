"""Faults inside the steps of revocation, reclaim and the commitment period: nothing partial remains, and the retry
goes through once (as tests/grants/test_faults.py for the steps before).

Each step's own rows (the revocation case, the repayment, the inspection with its photos, the sale report), its
ledger bookings, its django-fsm-log entry, the application row and the queueing of its letter: a fault at any of
them leaves the case, the ledger, the history, the letters, the outbox and the storage exactly as before.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_fsm_log.models import StateLog
from PIL import Image

from budgets.models import LedgerEntry
from core.errors import DomainError
from grants import commitment, revocations
from grants.models import Document, GrantApplication, Inspection, Letter, Repayment, Revocation, SaleReport

from .test_faults import FAULTS, Injected, fail_on, fail_on_method, snapshot

State = GrantApplication.State
pytestmark = pytest.mark.django_db
TODAY = date.today()


def photo() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return SimpleUploadedFile("kontrolle.png", buffer.getvalue(), content_type="image/png")


def _open(application, people):
    return revocations.revocation_open(
        application_id=application.pk, by=people.caseworker, reason=Revocation.Reason.SALE, facts="Verkauft.",
        hearing_deadline=TODAY + timedelta(days=28), intended_amount=Decimal("2000.00"),
    )  # fmt: skip


def _answer(application, people):
    return revocations.hearing_answer(application_id=application.pk, by=people.owner, answer="Nein.")


def _decide(application, people):
    return revocations.revocation_decide(
        application_id=application.pk, by=people.approver, outcome=Revocation.Outcome.REVOKED,
        revoked_amount=Decimal("2000.00"), effective_from=TODAY, due_on=TODAY + timedelta(days=30),
        comment="Zweckbindung verletzt.",
    )  # fmt: skip


def _overdue(application, people):
    Revocation.objects.filter(application=application).update(due_on=TODAY - timedelta(days=1))


# name: (the state it starts from, the steps before it, the step, the faults of its own, bookings, letter)
STEPS = {
    "open_revocation": ("paid", [], _open, ["revocation row"], 0, True),
    "answer_hearing": ("paid", [_open], _answer, ["revocation row"], 0, False),
    "close_revocation": (
        "paid", [_open, _answer],
        lambda a, p: revocations.revocation_close(application_id=a.pk, by=p.approver, comment="Erledigt."),
        ["revocation row"], 0, True,
    ),
    "decide_revocation (approved: the rest released)": (
        "approved", [_open, _answer], _decide, ["revocation row"], 1, True,
    ),
    "decide_revocation (paid: reclaimed)": ("paid", [_open, _answer], _decide, ["revocation row"], 0, True),
    "remind_reclaim": (
        "paid", [_open, _answer, _decide, _overdue],
        lambda a, p: revocations.reclaim_remind(application_id=a.pk, by=p.finance),
        ["revocation row"], 0, True,
    ),
    "book_repayment": (
        "paid", [_open, _answer, _decide],
        lambda a, p: revocations.repayment_book(application_id=a.pk, by=p.finance, received_on=TODAY,
                                                amount=Decimal("2000.00")),
        ["repayment row"], 2, False,
    ),
    "record_inspection": (
        "paid", [],
        lambda a, p: commitment.inspection_record(application_id=a.pk, by=p.caseworker, inspected_on=TODAY,
                                                  finding="ok", photos=[photo()]),
        ["inspection row", "photo"], 0, False,
    ),
    "record_inspection (a finding: the hearing)": (
        "paid", [],
        lambda a, p: commitment.inspection_record(application_id=a.pk, by=p.caseworker, inspected_on=TODAY,
                                                  finding="defect", notes="Fenster ersetzt.", photos=[photo()]),
        ["inspection row", "photo", "revocation row"], 0, True,
    ),
    "report_sale": (
        "paid", [],
        lambda a, p: commitment.sale_report(application_id=a.pk, by=p.owner, sold_on=TODAY, buyer="Becker"),
        ["sale report row"], 0, False,
    ),
}  # fmt: skip

OWN_FAULTS = {
    "revocation row": lambda: fail_on_method(Revocation, "save"),
    "repayment row": lambda: fail_on(Repayment.objects, "create"),
    "inspection row": lambda: fail_on(Inspection.objects, "create"),
    "sale report row": lambda: fail_on(SaleReport.objects, "create"),
    "photo": lambda: fail_on_method(Document, "save"),
    "ledger entry": FAULTS["ledger entry"],
    "second ledger entry": FAULTS["second ledger entry"],
}


def faults_of(name: str) -> list[str]:
    _, _, _, own, bookings, letter = STEPS[name]
    faults = ["state log (django-fsm-log)", "application save", *own]
    faults += ["ledger entry", "second ledger entry"][:bookings]
    if letter:
        faults.append("queueing the letter and e-mail")
    return faults


def storage(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def everything(application, allocation, settings) -> dict:
    return {
        **snapshot(application, allocation, settings),
        "revocations": list(Revocation.objects.order_by("pk").values()),
        "repayments": list(Repayment.objects.order_by("pk").values()),
        "inspections": list(Inspection.objects.order_by("pk").values()),
        "sale reports": list(SaleReport.objects.order_by("pk").values()),
        "storage": storage(settings),
    }


@pytest.mark.parametrize(("name", "fault"), [(n, f) for n in STEPS for f in faults_of(n)], ids=lambda v: v)
def test_a_fault_inside_a_step_after_payment_leaves_nothing_behind_and_the_retry_goes_through_once(
    name, fault, case, people, allocation, settings, django_capture_on_commit_callbacks
):
    state, before_steps, step, _, bookings, letter = STEPS[name]
    application = case(state)
    with django_capture_on_commit_callbacks(execute=True):
        for before_step in before_steps:
            before_step(application, people)
    before = everything(application, allocation, settings)
    fault_of = {**FAULTS, **OWN_FAULTS}[fault]
    with fault_of(), django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Injected):
        step(application, people)
    assert callbacks == []
    assert everything(application, allocation, settings) == before

    with django_capture_on_commit_callbacks(execute=True):
        step(application, people)
    assert StateLog.objects.count() == len(before["history"]) + (2 if name.endswith("(a finding: the hearing)") else 1)
    new_entries = LedgerEntry.objects.exclude(pk__in=[pk for pk, _, _ in before["ledger"]])
    assert new_entries.count() == bookings
    assert Letter.objects.count() == len(before["letters"]) + (1 if letter else 0)


def _race(*calls) -> list[str]:
    """Run the calls at once in threads of their own (their own connections); what each ended with."""
    import threading

    from django.db import connection

    start = threading.Barrier(len(calls), timeout=60)
    outcomes: list[str] = []

    def run(call):
        try:
            start.wait()
            call()
            outcomes.append("done")
        except DomainError as refused:
            outcomes.append(str(refused.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_repayments_of_the_whole_sum_at_once_book_once_per_share(case, people, allocation):
    application = case("paid")
    for before_step in (_open, _answer, _decide):
        before_step(application, people)

    def pay():
        revocations.repayment_book(
            application_id=application.pk, by=people.finance, received_on=TODAY, amount=Decimal("2000.00")
        )

    assert _race(pay, pay) == ["409", "done"]  # the second is more than is owed once the first is booked
    (reclaim,) = LedgerEntry.objects.filter(application=application, kind="reclaim")
    assert reclaim.amount == Decimal("2000.00") and Repayment.objects.count() == 1
    application.refresh_from_db()
    assert application.reclaim_outstanding == Decimal("0.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_findings_at_once_open_one_revocation_case(case, people):
    application = case("paid")

    def find():
        commitment.inspection_record(
            application_id=application.pk, by=people.caseworker, inspected_on=TODAY, finding="defect",
            notes="Fenster ersetzt.",
        )  # fmt: skip

    assert _race(find, find) == ["done", "done"]  # both inspections are recorded, one after the other
    assert Inspection.objects.count() == 2 and Revocation.objects.count() == 1
    assert Inspection.objects.filter(revocation__isnull=False).count() == 1
