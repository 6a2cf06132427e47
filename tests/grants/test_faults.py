"""Faults at every step of every transition: nothing partial remains, and nothing happens twice.

Inside a transition's transaction (grants.services): the file number, the cost items, the ledger
bookings, the django-fsm transition with its django-fsm-log entry, the application row and the
registration of the notification. A fault at any of these steps rolls all of them back: the case,
the ledger, the history, the letters and the outbox are exactly as before, and the same step then
goes through once.

After commit, in a Celery task (grants.tasks.notify_transition): the letter and the e-mail. They
leave the database (a PDF in the storage, a mail on a server), so they never hold a transition
back: a broker that is down, a letter that fails to render or a mail server that is down leave the
transition standing, and the task run again (its retry, the sweep ``notify_missed_transitions`` on
Celery beat, or the batch action for letters) makes the letter and sends the e-mail exactly once,
by their keys.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets import services as budget_services
from budgets.models import LedgerEntry, LedgerTotal
from budgets.selectors import allocation_balance
from grants import letters, notifications, services, tasks
from grants.batches import letter_batch_create
from grants.models import (
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    GrantApplication,
    InternalNote,
    Invoice,
    Letter,
    LetterKind,
    MeasureComponent,
    OutboundEmail,
    PartialPayment,
    ProofOfUse,
)
from grants.services import ComponentInput, CostInput
from grants.steps import step_of_transition

from ..factories import add_document, advance, make_application

State = GrantApplication.State
pytestmark = pytest.mark.django_db

# Final invoices of 10,000 € gross: 5,000 € are paid and 2,200 € of the 7,200 € committed are released.
LOWER_INVOICES = [
    ComponentInput("facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("8403.36"), Decimal("1596.64")),))
]


# A deadline extension's request: two years on from today, within the five years a request may move a deadline.
LATER = {
    "completion_deadline": date.today() + relativedelta(years=2),
    "invoice_deadline": date.today() + relativedelta(years=2, months=3),
    "reason": "Lieferzeit der Fenster",
}


# A change request: 250 m² instead of 180 m², the grant from 7,200 € to 10,000 € (2,800 € committed on top).
CHANGE = {
    "components": [
        ComponentInput("facade", Decimal("250"), (CostInput("Fassade", Decimal("50000.00"), Decimal("9500.00")),))
    ],
    "reason": "Die Giebelseite kommt dazu",
}


# An invoice of 4,760 € gross, certified in full: the guideline's rate gives 2,380 € as a partial payment.
INVOICE = services.InvoiceInput(
    number="R-1", issued_on=date.today(), supplier="Malerbetrieb Specht", measure="facade",
    description="Anstrich", net_amount=Decimal("4000.00"), vat_amount=Decimal("760.00"),
)  # fmt: skip


def the_file(application) -> int:
    return application.documents.get(kind=Document.Kind.INVOICE).pk


def the_invoice(application) -> int:
    return application.invoices.get().pk


# The owner's proof of use: the report and the day the works were finished; invoice and photo are on the case.
PROOF = {"completed_on": date.today(), "report": "Die Fassade ist gestrichen."}


class Injected(RuntimeError):
    """The fault a test injects."""


# name: (state it starts from, who acts, keyword arguments, target state, bookings, letter it makes)
TRANSITIONS = {
    "submit": (State.DRAFT, "owner", {}, State.SUBMITTED, [], LetterKind.RECEIPT),
    "return_to_applicant": (
        State.SUBMITTED, "caseworker", {"comment": "Es fehlt das Foto."}, State.DRAFT, [], LetterKind.DOCUMENTS_REQUEST,
    ),
    "check": (State.SUBMITTED, "caseworker", {}, State.CHECKED, [], None),
    "approve": (State.CHECKED, "approver", {}, State.APPROVED, [("commitment", "7200.00")], LetterKind.APPROVAL),
    "reject from submitted": (
        State.SUBMITTED, "caseworker", {"comment": "Nicht förderfähig."}, State.REJECTED, [], LetterKind.REJECTION,
    ),
    "reject from checked": (
        State.CHECKED, "approver", {"comment": "Nicht förderfähig."}, State.REJECTED, [], LetterKind.REJECTION,
    ),
    "withdraw from draft": (State.DRAFT, "owner", {}, State.WITHDRAWN, [], None),
    "withdraw from submitted": (State.SUBMITTED, "owner", {}, State.WITHDRAWN, [], None),
    "withdraw from checked": (State.CHECKED, "owner", {}, State.WITHDRAWN, [], None),
    "withdraw from approved": (State.APPROVED, "owner", {}, State.WITHDRAWN, [("release", "7200.00")], None),
    "certify_invoices": (State.APPROVED, "caseworker", {"invoices": LOWER_INVOICES}, State.APPROVED, [], None),
    "pay": (
        "certified", "finance", {}, State.PAID, [("payment", "5000.00"), ("release", "2200.00")], LetterKind.PAYMENT,
    ),
    "document": (State.PAID, "caseworker", {}, State.DOCUMENTED, [], None),
    "request_extension": (State.APPROVED, "owner", LATER, State.APPROVED, [], None),
    "grant_extension": ("extension requested", "caseworker", {}, State.APPROVED, [], LetterKind.EXTENSION),
    "refuse_extension": (
        "extension requested", "caseworker", {"comment": "Zweck gefährdet."}, State.APPROVED, [],
        LetterKind.EXTENSION_REFUSAL,
    ),
    "request_change": (State.APPROVED, "owner", CHANGE, State.APPROVED, [], None),
    "record_invoice": (
        "invoice handed in", "owner", {"document_id": the_file, "data": INVOICE}, State.APPROVED, [], None,
    ),
    "certify_invoice": (
        "invoice recorded", "caseworker", {"invoice_id": the_invoice, "eligible_amount": Decimal("4000.00")},
        State.APPROVED, [], None,
    ),
    "pay_partial": (
        "invoice certified", "finance", {}, State.APPROVED, [("payment", "2380.00")], LetterKind.PARTIAL_PAYMENT,
    ),
    "check_change": ("change requested", "caseworker", {}, State.APPROVED, [], None),
    "approve_change": (
        "change checked", "approver", {}, State.APPROVED, [("commitment", "2800.00")], LetterKind.CHANGE,
    ),
    "refuse_change": (
        "change requested", "caseworker", {"comment": "Außerhalb des Fördergebiets."}, State.APPROVED, [],
        LetterKind.CHANGE_REFUSAL,
    ),
    "submit_proof": (State.APPROVED, "owner", PROOF, State.APPROVED, [], None),
    "accept_proof": ("proof submitted", "caseworker", {}, State.APPROVED, [], None),
    "return_proof": (
        "proof submitted", "caseworker", {"comment": "Es fehlt das Foto der Hofseite."}, State.APPROVED, [], None,
    ),
}  # fmt: skip
# The steps the owner does not hear of by e-mail: the office's certifications and check, the owner's own requests
# and proof of use.
SILENT = {
    "certify_invoices", "certify_invoice", "record_invoice", "request_extension", "request_change", "check_change",
    "submit_proof",
}  # fmt: skip

SERVICE = {
    **services.TRANSITIONS,
    "certify_invoices": services.application_certify_invoices,
    "request_extension": services.extension_request,
    "request_change": services.change_request,
    "certify_invoice": services.invoice_certify,
    "record_invoice": services.invoice_record,
    "submit_proof": services.proof_submit,
}


def service_for(name: str):
    return SERVICE[name.split(" ")[0]]


def fail_on(target, attribute: str, call: int = 1):
    """Patch ``target.attribute`` so that its ``call``-th call raises; the calls before it go through."""
    original = getattr(target, attribute)
    calls = []

    def side_effect(*args, **kwargs):
        calls.append(args)
        if len(calls) == call:
            raise Injected(f"{attribute}: fault injected at call {call}")
        return original(*args, **kwargs)

    return mock.patch.object(target, attribute, side_effect=side_effect)


def fail_on_method(model, attribute: str, call: int = 1):
    """Like ``fail_on`` for an instance method (``self`` is passed on)."""
    original = getattr(model, attribute)
    calls = []

    def side_effect(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == call:
            raise Injected(f"{model.__name__}.{attribute}: fault injected at call {call}")
        return original(self, *args, **kwargs)

    return mock.patch.object(model, attribute, autospec=True, side_effect=side_effect)


# Every step inside a transition's transaction where a fault can strike.
FAULTS = {
    "file number": lambda: mock.patch.object(services, "next_file_number", side_effect=Injected("file number")),
    "cost item": lambda: fail_on_method(CostItem, "save"),
    "ledger entry": lambda: fail_on(LedgerEntry.objects, "create"),
    "second ledger entry": lambda: fail_on(LedgerEntry.objects, "create", call=2),
    # The running totals are added to after each entry, in the same transaction.
    "ledger total": lambda: fail_on(budget_services, "add_entry"),
    "second ledger total": lambda: fail_on(budget_services, "add_entry", call=2),
    "state log (django-fsm-log)": lambda: fail_on(StateLog.objects, "create"),
    "application save": lambda: fail_on_method(GrantApplication, "save"),
    "queueing the letter and e-mail": lambda: fail_on(transaction, "on_commit"),
    "extension row": lambda: fail_on_method(DeadlineExtension, "save"),
    "change row": lambda: fail_on_method(ChangeRequest, "save"),
    "measure": lambda: fail_on_method(MeasureComponent, "save"),
    "invoice row": lambda: fail_on_method(Invoice, "save"),
    "partial payment row": lambda: fail_on(PartialPayment.objects, "create"),
    "proof row": lambda: fail_on_method(ProofOfUse, "save"),
}


def faults_of(name: str) -> list[str]:
    _, _, _, _, bookings, _ = TRANSITIONS[name]
    faults = ["state log (django-fsm-log)", "application save"]
    if name == "submit":
        faults.append("file number")
    if name in ("certify_invoices", "approve_change"):
        faults.append("cost item")
    if name == "approve_change":
        faults.append("measure")
    elif name not in SILENT:
        faults.append("queueing the letter and e-mail")
    if name.endswith("_extension"):
        faults.append("extension row")
    if name.endswith("_change"):
        faults.append("change row")
    if name in ("certify_invoice", "record_invoice"):
        faults.append("invoice row")
    if name == "pay_partial":
        faults.append("partial payment row")
    if name.endswith("_proof"):
        faults.append("proof row")
    faults += ["ledger entry", "second ledger entry"][: len(bookings)]
    faults += ["ledger total", "second ledger total"][: len(bookings)]
    return faults


def letter_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT) / "letters"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def snapshot(application, allocation, settings) -> dict:
    """Everything a transition or its side effects may write."""
    balance = allocation_balance(allocation)
    return {
        "application": GrantApplication.objects.filter(pk=application.pk).values().get(),
        "ledger": list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "amount")),
        "totals": list(LedgerTotal.objects.order_by("pk").values_list("pk", "kind", "entries", "amount")),
        "balance": (balance.committed, balance.paid, balance.available),
        "history": list(StateLog.objects.order_by("pk").values_list("pk", "transition", "state")),
        "cost items": list(CostItem.objects.order_by("pk").values_list("pk", "stage", "net_amount")),
        "letters": list(Letter.objects.order_by("pk").values_list("pk", "key")),
        "letter files": letter_files(settings),
        "e-mails": list(OutboundEmail.objects.order_by("pk").values_list("key", "sent_at")),
        "outbox": [m.subject for m in mail.outbox],
        "notes": InternalNote.objects.count(),
        "extensions": list(DeadlineExtension.objects.order_by("pk").values()),
        "changes": list(ChangeRequest.objects.order_by("pk").values()),
        "proofs": list(ProofOfUse.objects.order_by("pk").values()),
        "proof documents": list(ProofOfUse.documents.through.objects.order_by("pk").values()),
        "documents": list(Document.objects.order_by("pk").values()),
        "measures": list(MeasureComponent.objects.order_by("pk").values()),
        "invoices": list(Invoice.objects.order_by("pk").values()),
        "partial payments": list(PartialPayment.objects.order_by("pk").values()),
    }


@pytest.fixture
def bring(case, people):
    """Alice's application in the state a transition starts from."""

    def make(name: str) -> GrantApplication:
        state = TRANSITIONS[name][0]
        after_approval = (
            "certified", "extension requested", "change requested", "change checked", "invoice recorded",
            "invoice certified", "proof submitted", "invoice handed in",
        )  # fmt: skip
        application = case("approved" if state in after_approval else state)
        if state == "extension requested":
            services.extension_request(application_id=application.pk, by=people.owner, **LATER)
        if state in ("change requested", "change checked"):
            services.change_request(application_id=application.pk, by=people.owner, **CHANGE)
        if state == "change checked":
            services.change_check(application_id=application.pk, by=people.caseworker)
        if state in ("invoice handed in", "invoice recorded", "invoice certified"):
            document = add_document(application, Document.Kind.INVOICE)
        if state in ("invoice recorded", "invoice certified"):
            services.invoice_record(
                application_id=application.pk, by=people.owner, document_id=document.pk, data=INVOICE
            )
        if state == "invoice certified":
            services.invoice_certify(
                application_id=application.pk,
                by=people.caseworker,
                invoice_id=the_invoice(application),
                eligible_amount=INVOICE.net_amount,
            )
        if name.endswith("_proof"):
            add_document(application, Document.Kind.INVOICE)
            add_document(application, Document.Kind.PHOTO_AFTER)
        if state == "proof submitted":
            services.proof_submit(application_id=application.pk, by=people.owner, **PROOF)
        if state == "certified":
            services.application_certify_invoices(
                application_id=application.pk, by=people.caseworker, invoices=LOWER_INVOICES
            )
        if state == State.PAID:
            add_document(application, Document.Kind.PHOTO_AFTER)
        return application

    return make


def run(name: str, application, people):
    _, actor, kwargs, _, _, _ = TRANSITIONS[name]
    kwargs = {key: value(application) if callable(value) else value for key, value in kwargs.items()}
    return service_for(name)(application_id=application.pk, by=getattr(people, actor), **kwargs)


@pytest.mark.parametrize(
    ("name", "fault"), [(name, fault) for name in TRANSITIONS for fault in faults_of(name)], ids=lambda v: v
)
def test_a_fault_at_any_step_inside_a_transition_leaves_nothing_behind_and_the_retry_books_once(
    name, fault, bring, people, allocation, settings, django_capture_on_commit_callbacks
):
    application = bring(name)
    mail.outbox.clear()
    before = snapshot(application, allocation, settings)

    with FAULTS[fault](), django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Injected):
        run(name, application, people)

    assert callbacks == []  # nothing queued: no letter, no e-mail for a transition that did not happen
    assert snapshot(application, allocation, settings) == before

    # The same step again, without the fault: it goes through, and everything happens once.
    with django_capture_on_commit_callbacks(execute=True):
        run(name, application, people)
    _, _, _, target, bookings, letter = TRANSITIONS[name]
    application.refresh_from_db()
    assert application.state == target
    new_entries = LedgerEntry.objects.exclude(pk__in=[pk for pk, _, _ in before["ledger"]]).order_by("pk")
    assert [(e.kind, e.amount) for e in new_entries] == [(kind, Decimal(amount)) for kind, amount in bookings]
    assert StateLog.objects.count() == len(before["history"]) + 1
    assert list(Letter.objects.exclude(pk__in=[pk for pk, _ in before["letters"]]).values_list("kind", flat=True)) == (
        [letter] if letter else []
    )
    assert len(mail.outbox) == (0 if name in SILENT else 1)


def test_a_fault_in_the_release_after_the_payment_was_booked_rolls_the_payment_back(
    bring, people, allocation, settings
):
    """The one transition with two bookings: the payment must not stand without the release of the rest."""
    application = bring("pay")
    committed_before = allocation_balance(allocation)

    with fail_on(LedgerEntry.objects, "create", call=2), pytest.raises(Injected):
        services.application_pay(application_id=application.pk, by=people.finance)

    balance = allocation_balance(allocation)
    assert (balance.committed, balance.paid) == (committed_before.committed, Decimal("0.00"))
    assert not application.ledger_entries.filter(kind=LedgerEntry.Kind.PAYMENT).exists()
    application.refresh_from_db()
    assert (application.state, application.paid_amount, application.paid_at) == (State.APPROVED, None, None)


# --- after commit: letters and e-mails -----------------------------------------------------------------

NOTIFYING = [name for name in TRANSITIONS if name not in SILENT]
WITH_LETTER = [name for name in NOTIFYING if TRANSITIONS[name][5]]


def age_history() -> None:
    """The history so far is days old and was notified then: the sweep looks at recent transitions only."""
    StateLog.objects.update(timestamp=F("timestamp") - timedelta(days=4))


def sweep() -> int:
    """Celery beat's sweep, without waiting for transitions to settle (the test has no ten minutes)."""
    return notifications.notify_missed_transitions(settle=timedelta(0))


def assert_notified_once(application, name: str) -> None:
    log = StateLog.objects.for_(application).latest("pk")
    letter = TRANSITIONS[name][5]
    assert list(application.letters.values_list("kind", flat=True)) == ([letter] if letter else [])
    assert OutboundEmail.objects.filter(key=f"transition:log-{log.pk}", sent_at__isnull=False).count() == 1
    assert len(mail.outbox) == 1
    step = step_of_transition(log.transition)
    # A step that keeps the state names itself in the subject, every other the state it reached.
    headline = (
        step.history_label if log.source_state == log.state else GrantApplication.State(TRANSITIONS[name][3]).label
    )
    assert mail.outbox[0].subject.endswith(str(headline))
    assert bool(mail.outbox[0].attachments) == bool(letter)


@pytest.mark.parametrize("name", NOTIFYING)
def test_a_broker_down_at_commit_leaves_the_transition_and_the_sweep_notifies_once(
    name, bring, people, allocation, django_capture_on_commit_callbacks, caplog
):
    application = bring(name)
    age_history()
    mail.outbox.clear()

    with (
        mock.patch.object(tasks.notify_transition, "delay", side_effect=ConnectionRefusedError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run(name, application, people)  # no error for the person whose step committed

    application.refresh_from_db()
    assert application.state == TRANSITIONS[name][3]
    assert "Could not queue" in caplog.text
    assert not application.letters.exists() and mail.outbox == []

    assert sweep() == 1
    assert sweep() == 0  # the second run finds it done
    assert_notified_once(application, name)


def test_the_sweep_leaves_fresh_transitions_to_their_own_task_and_old_ones_alone(bring, people, allocation):
    application = bring("pay")  # submitted, checked, approved, invoices certified: none notified yet
    services.application_pay(application_id=application.pk, by=people.finance)
    mail.outbox.clear()

    assert notifications.notify_missed_transitions() == 0  # their tasks may still be on the way

    StateLog.objects.update(timestamp=F("timestamp") - timedelta(minutes=11))
    assert notifications.notify_missed_transitions() == 4  # the certification is no transition the owner hears of
    subjects = sorted(m.subject.rsplit(": ", 1)[1] for m in mail.outbox)
    assert subjects == ["ausgezahlt", "bewilligt", "eingereicht", "geprüft"]

    assert notifications.notify_missed_transitions() == 0
    OutboundEmail.objects.all().update(sent_at=None)  # as if none had gone out …
    StateLog.objects.update(timestamp=F("timestamp") - timedelta(days=4))
    assert notifications.notify_missed_transitions() == 0  # … days ago: no late e-mails about old steps


@pytest.mark.parametrize("name", WITH_LETTER)
def test_a_letter_that_fails_to_render_leaves_the_transition_and_is_made_once_later(
    name, bring, people, allocation, settings, django_capture_on_commit_callbacks
):
    application = bring(name)
    age_history()
    mail.outbox.clear()
    files_before = letter_files(settings)

    with (
        mock.patch.object(letters, "render_letter", side_effect=Injected("WeasyPrint failed")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run(name, application, people)

    application.refresh_from_db()
    assert application.state == TRANSITIONS[name][3]
    assert not application.letters.exists() and mail.outbox == []  # no e-mail without its letter
    assert letter_files(settings) == files_before

    sweep()
    sweep()
    assert_notified_once(application, name)


def test_a_letter_whose_row_fails_leaves_no_file_in_the_storage(bring, people, allocation, settings):
    """The PDF is written before its row; when the row is rolled back, the file goes too."""
    application = bring("approve")
    services.application_approve(application_id=application.pk, by=people.approver)
    log = StateLog.objects.for_(application).latest("pk")
    files_before = letter_files(settings)

    with fail_on_method(Letter, "save"), pytest.raises(Injected):
        notifications.notify_transition(state_log_id=log.pk)

    assert letter_files(settings) == files_before
    assert not application.letters.filter(kind=LetterKind.APPROVAL).exists()
    tasks.notify_transition.apply(kwargs={"state_log_id": log.pk}).get()
    assert application.letters.filter(kind=LetterKind.APPROVAL).count() == 1
    assert len(letter_files(settings)) == len(files_before) + 1


@pytest.mark.parametrize("name", ["submit", "approve", "pay"])
def test_a_mail_server_that_is_down_leaves_the_transition_and_the_retry_sends_once(
    name, bring, people, allocation, settings, django_capture_on_commit_callbacks
):
    application = bring(name)
    mail.outbox.clear()
    settings.EMAIL_BACKEND = "tests.grants.failing_mail.Backend"
    with django_capture_on_commit_callbacks(execute=True):
        run(name, application, people)
    application.refresh_from_db()
    assert application.state == TRANSITIONS[name][3]
    log = StateLog.objects.for_(application).latest("pk")
    record = OutboundEmail.objects.get(key=f"transition:log-{log.pk}")
    assert record.sent_at is None  # the claim was given back: it was never sent

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(2):
        tasks.notify_transition.apply(kwargs={"state_log_id": log.pk}).get()
    assert_notified_once(application, name)


def test_a_worker_killed_after_the_mail_server_took_the_mail_never_sends_it_twice(bring, people, allocation):
    """The window between sending and marking as sent: the mark comes first, so a retry finds it."""
    application = bring("approve")
    age_history()
    services.application_approve(application_id=application.pk, by=people.approver)
    log = StateLog.objects.for_(application).latest("pk")
    mail.outbox.clear()
    deliver = EmailBackend.send_messages

    def deliver_then_die(self, messages):
        deliver(self, messages)
        raise SystemExit("worker killed")

    with mock.patch.object(EmailBackend, "send_messages", deliver_then_die), pytest.raises(SystemExit):
        notifications.notify_transition(state_log_id=log.pk)
    assert len(mail.outbox) == 1

    for _ in range(3):  # acks_late: the broker hands the task to the next worker; beat's sweep too
        tasks.notify_transition.apply(kwargs={"state_log_id": log.pk}).get()
    sweep()
    assert_notified_once(application, "approve")


def test_the_letter_batch_run_twice_makes_each_letter_once(
    programme, allocation, people, django_capture_on_commit_callbacks
):
    cases = [make_application(programme=programme, applicant=people.alice) for _ in range(2)]
    for application in cases:
        advance(application, State.APPROVED, people)  # the worker was down: no letters yet
    with django_capture_on_commit_callbacks(execute=True):
        batch = letter_batch_create(application_ids=[c.pk for c in cases], by=people.caseworker)
    tasks.render_letter_batch.apply(kwargs={"batch_id": batch.pk}).get()  # delivered a second time

    assert Letter.objects.count() == 4  # a receipt and an approval notice each
    assert sorted(Letter.objects.values_list("kind", flat=True)) == ["approval", "approval", "receipt", "receipt"]
    batch.refresh_from_db()
    assert batch.created_letters == 4 and batch.failures == []


# --- exactly once: double clicks, replayed requests -----------------------------------------------------

BUTTON = {"approve": ("approver", LedgerEntry.Kind.COMMITMENT), "pay": ("finance", LedgerEntry.Kind.PAYMENT)}


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def step_url(application, step: str) -> str:
    return reverse("workspace:step", args=[application.pk, step])


@pytest.mark.parametrize("step", BUTTON)
def test_a_double_click_on_the_workspace_button_books_once_and_says_it_is_done(step, bring, client, people):
    application = bring(step)
    persona, kind = BUTTON[step]
    client.force_login(getattr(people, persona))

    first = client.post(step_url(application, step), {"comment": ""})
    second = client.post(step_url(application, step), {"comment": ""})

    assert first.status_code == 302
    assert second.status_code == 409
    application.refresh_from_db()
    assert f"Dieser Schritt ist schon erledigt: Der Antrag ist bereits „{application.get_state_display()}“." in (
        second.content.decode()
    )
    assert application.ledger_entries.filter(kind=kind).count() == 1
    assert StateLog.objects.for_(application).filter(transition=step).count() == 1


@pytest.mark.parametrize("step", BUTTON)
def test_a_replayed_api_request_books_once_and_answers_409(
    step, bring, people, allocation, django_capture_on_commit_callbacks
):
    application = bring(step)
    persona, kind = BUTTON[step]
    client = token_client(getattr(people, persona))
    url = f"/api/applications/{application.pk}/{step}/"
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {"comment": "Erledigt"}, format="json")
        replays = [client.post(url, {"comment": "Erledigt"}, format="json") for _ in range(2)]

    assert first.status_code == 200
    assert [r.status_code for r in replays] == [409, 409]
    assert "schon erledigt" in replays[0].json()["detail"]
    assert application.ledger_entries.filter(kind=kind).count() == 1
    assert len(mail.outbox) == 1 and application.letters.count() == 1  # one letter, one e-mail
    balance = allocation_balance(allocation)
    assert balance.committed == (Decimal("7200.00") if step == "approve" else Decimal("5000.00"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", ["workspace", "api"])
@pytest.mark.parametrize("step", BUTTON)
def test_two_concurrent_clicks_book_once_and_neither_is_an_error(step, door, bring, people, allocation):
    application = bring(step)
    persona, kind = BUTTON[step]
    user = getattr(people, persona)
    # A timeout, so that a click that fails before the barrier fails the test instead of hanging the run.
    start = threading.Barrier(2, timeout=60)
    statuses = []

    def logged_in():
        if door == "api":
            return token_client(user)
        client = Client()
        client.force_login(user)
        return client

    def click(client):
        try:
            start.wait()
            if door == "api":
                response = client.post(f"/api/applications/{application.pk}/{step}/", {}, format="json")
            else:
                response = client.post(step_url(application, step), {"comment": ""})
            statuses.append(response.status_code)
        finally:
            connection.close()

    # Both log in first, one after the other: only the clicks race.
    threads = [threading.Thread(target=click, args=(logged_in(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == ([200, 409] if door == "api" else [302, 409])
    assert application.ledger_entries.filter(kind=kind).count() == 1
    assert StateLog.objects.for_(application).filter(transition=step).count() == 1
