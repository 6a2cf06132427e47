"""Letters and e-mails as the owner receives them: read back from the PDF, counted in the outbox."""

import hashlib
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from grants import notifications, services, tasks
from grants.batches import letter_batch_create
from grants.models import GrantApplication, Letter, LetterKind, LetterTemplate, OutboundEmail
from grants.services import ComponentInput, CostInput

from ..factories import advance, make_application

State = GrantApplication.State
pytestmark = pytest.mark.django_db


def pdf_text(letter: Letter) -> str:
    with letter.file.open("rb") as pdf:
        return subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.read(), capture_output=True, check=True
        ).stdout.decode()


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def application(programme, allocation, people):
    return make_application(programme=programme, applicant=people.alice)


@pytest.fixture
def walk(django_capture_on_commit_callbacks, people):
    """Drive the case like the web does: letters and e-mails run once each transition commits."""

    def run(application, target):
        with django_capture_on_commit_callbacks(execute=True):
            advance(application, target, people)
        application.refresh_from_db()
        return application

    return run


def test_submitting_sends_a_receipt_with_the_file_number(application, walk, people):
    walk(application, State.SUBMITTED)
    letter = application.letters.get()
    text = one_line(pdf_text(letter))
    assert letter.kind == LetterKind.RECEIPT
    assert f"Aktenzeichen: {application.file_number}" in text
    assert f"vom {timezone.localdate():%d.%m.%Y}" in text or f"am {timezone.localdate():%d.%m.%Y}" in text
    assert "Alice Amsel" in text and "Hauptstraße 12" in text
    assert "7.200,00 €" in text  # the grant the guideline would give
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [people.owner.email]
    assert mail.outbox[0].subject == f"Ihr Antrag {application.file_number}: eingereicht"
    assert mail.outbox[0].attachments[0][2] == "application/pdf"


def test_the_approval_notice_states_amounts_deadlines_rule_and_legal_remedy(application, walk):
    walk(application, State.APPROVED)
    letter = application.letters.get(kind=LetterKind.APPROVAL)
    text = one_line(pdf_text(letter))

    assert "Zuwendungsbescheid" in text
    assert "7.200,00 €" in text  # the approved grant
    assert "förderfähig 42.000,00 €" in text  # 35,294.12 net + 19 % VAT: the owner cannot deduct VAT
    assert "Fördersatz 50 %" in text
    assert "Förderhöchstbetrag je m²" in text  # the rule that bound
    assert f"bis zum {application.completion_deadline:%d.%m.%Y} abzuschließen" in text
    assert f"bis zum {application.invoice_deadline:%d.%m.%Y} einzureichen" in text
    assert "für 10 Jahre" in text
    assert "Begründung" in text
    assert "Rechtsbehelfsbelehrung" in text and "Widerspruch" in text
    assert "Alice Amsel" in text and application.file_number in text


def test_the_rejection_notice_gives_the_reasons_and_the_legal_remedy(
    application, walk, people, django_capture_on_commit_callbacks
):
    walk(application, State.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_reject(
            application_id=application.pk,
            by=people.approver,
            comment="Die Arbeiten haben vor der Bewilligung begonnen.",
        )
    text = one_line(pdf_text(application.letters.get(kind=LetterKind.REJECTION)))
    assert "lehnen wir ab" in text
    assert "Die Arbeiten haben vor der Bewilligung begonnen." in text
    assert "Rechtsbehelfsbelehrung" in text


def test_returning_to_the_applicant_asks_for_exactly_what_is_missing(
    application, walk, people, django_capture_on_commit_callbacks
):
    walk(application, State.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_return_to_applicant(
            application_id=application.pk, by=people.caseworker, comment="Es fehlt das Foto der Rückseite."
        )
    text = one_line(pdf_text(application.letters.get(kind=LetterKind.DOCUMENTS_REQUEST)))
    assert "Es fehlt das Foto der Rückseite." in text
    assert "Es fehlt das Foto der Rückseite." in mail.outbox[-1].body


def test_the_payment_notice_shows_the_paid_amount_and_the_released_rest(
    application, walk, people, django_capture_on_commit_callbacks
):
    walk(application, State.APPROVED)
    invoices = [
        ComponentInput(
            "facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("8403.36"), Decimal("1596.64")),)
        )
    ]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_pay(application_id=application.pk, by=people.finance)
    text = one_line(pdf_text(application.letters.get(kind=LetterKind.PAYMENT)))
    assert "Bewilligt: 7.200,00 €" in text
    assert "Ausgezahlt: 5.000,00 €" in text
    assert "freigegeben: 2.200,00 €" in text
    # The account, masked to its last four characters (a letter goes by post and is forwarded).
    assert "DE•• •••• •••• •••• •• 3000" in text and "DE89370400440532013000" not in text


def test_every_state_change_emails_the_owner_in_german(application, walk):
    walk(application, State.DOCUMENTED)
    subjects = [m.subject.split(": ", 1)[1] for m in mail.outbox]
    assert subjects == ["eingereicht", "geprüft", "bewilligt", "ausgezahlt", "abgeschlossen"]
    with_letters = [m.subject.split(": ", 1)[1] for m in mail.outbox if m.attachments]
    assert with_letters == ["eingereicht", "bewilligt", "ausgezahlt"]


def test_a_letter_is_pdf_a_3b_stored_with_its_sha256_and_never_changed(application, walk):
    walk(application, State.SUBMITTED)
    letter = application.letters.get()
    with letter.file.open("rb") as pdf:
        content = pdf.read()
    assert hashlib.sha256(content).hexdigest() == letter.sha256
    xmp = subprocess.run(["pdfinfo", "-meta", letter.file.path], capture_output=True, check=True).stdout.decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    letter.subject = "geändert"
    with pytest.raises(PermissionError):
        letter.save()
    with pytest.raises(PermissionError):
        letter.delete()
    with pytest.raises(PermissionError):
        Letter.objects.filter(pk=letter.pk).update(subject="geändert")
    with pytest.raises(PermissionError):
        Letter.objects.all().delete()
    assert Letter.objects.get(pk=letter.pk).subject != "geändert"


def test_retrying_the_task_makes_one_letter_and_sends_one_email(application, walk, people):
    walk(application, State.CHECKED)
    mail.outbox.clear()
    services.application_approve(
        application_id=application.pk, by=people.approver
    )  # on_commit not run: the task is ours
    log = StateLog.objects.for_(application).latest("pk")

    for _ in range(3):
        tasks.notify_transition.apply(kwargs={"state_log_id": log.pk}).get()

    assert application.letters.filter(kind=LetterKind.APPROVAL).count() == 1
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.filter(key=f"transition:log-{log.pk}").count() == 1


def test_a_failing_mail_server_does_not_undo_the_transition(
    application, people, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.grants.failing_mail.Backend"
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.state == State.SUBMITTED
    assert application.letters.count() == 1  # the letter is made before the e-mail fails
    assert not OutboundEmail.objects.filter(sent_at__isnull=False).exists()


def test_a_programme_template_wins_over_the_municipality_default(application, walk, programme):
    LetterTemplate.objects.create(
        municipality=programme.municipality, kind=LetterKind.RECEIPT, subject="Eingang {{ application.file_number }}",
        body="Allgemeiner Text", signatory="Bürgermeisterin",
    )  # fmt: skip
    LetterTemplate.objects.create(
        municipality=programme.municipality, programme=programme, kind=LetterKind.RECEIPT,
        subject="Fassadenprogramm: Eingang {{ application.file_number }}",
        body="Danke für Ihren Antrag über {{ application.total_costs|euro }}.",
        signatory="Dr. Eva Beispiel\nAmtsleiterin",
    )  # fmt: skip
    walk(application, State.SUBMITTED)
    letter = application.letters.get()
    text = one_line(pdf_text(letter))
    assert letter.subject == f"Fassadenprogramm: Eingang {application.file_number}"
    assert "Danke für Ihren Antrag über 42.000,00 €." in text and "Dr. Eva Beispiel Amtsleiterin" in text
    assert "Allgemeiner Text" not in text


def test_a_template_with_a_syntax_error_is_refused(programme):
    template = LetterTemplate(
        municipality=programme.municipality,
        kind=LetterKind.APPROVAL,
        subject="Bescheid",
        body="{% if %}",
        signatory="x",
    )
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert "body" in error.value.message_dict


def test_owners_and_their_staff_download_letters_others_get_404(application, walk, client, people):
    walk(application, State.SUBMITTED)
    url = reverse("letter-download", args=[application.letters.get().pk])
    for person, status in [
        (people.owner, 200),
        (people.caseworker, 200),
        (people.auditor, 200),
        (people.other_owner, 404),
        (people.foreign_caseworker, 404),
    ]:
        client.force_login(person)
        response = client.get(url)
        assert response.status_code == status, person
        if status == 200:
            assert b"".join(response.streaming_content).startswith(b"%PDF")
    client.logout()
    assert client.get(url).status_code == 302


def test_the_batch_makes_the_missing_letters_of_many_cases_with_progress(
    programme, allocation, people, client, django_capture_on_commit_callbacks
):
    cases = [make_application(programme=programme, applicant=people.alice) for _ in range(3)]
    for case in cases:
        advance(case, State.APPROVED, people)  # no on_commit: the worker was down, no letters yet
    assert not Letter.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        batch = letter_batch_create(application_ids=[c.pk for c in cases], by=people.caseworker)
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.total, batch.created_letters) == ("done", 3, 3, 6)
    assert Letter.objects.filter(kind=LetterKind.APPROVAL).count() == 3

    client.force_login(people.caseworker)
    page = client.get(reverse("letter-batch", args=[batch.pk])).content.decode()
    assert "3 von 3 Anträgen bearbeitet" in page and "6 neue Schreiben erzeugt" in page
    client.force_login(people.approver)
    assert client.get(reverse("letter-batch", args=[batch.pk])).status_code == 404


def test_reminders_go_out_once_for_deadlines_and_untouched_cases(application, walk, people, programme):
    walk(application, State.APPROVED)
    untouched = make_application(programme=programme, applicant=people.bob)
    services.application_submit(application_id=untouched.pk, by=people.other_owner)
    StateLog.objects.for_(untouched).update(timestamp=timezone.now() - timedelta(days=15))
    today = timezone.localdate()
    mail.outbox.clear()

    assert notifications.send_reminders(on=application.completion_deadline - timedelta(weeks=4)) == 2
    assert {m.subject.split(":")[0] for m in mail.outbox} == {"Erinnerung", "Seit 14 Tagen unbearbeitet"}
    assert mail.outbox[1].to == [people.caseworker.email] or mail.outbox[0].to == [people.caseworker.email]
    assert notifications.send_reminders(on=application.completion_deadline - timedelta(weeks=4)) == 0

    overdue = notifications.send_reminders(on=application.invoice_deadline + timedelta(days=1))
    assert overdue == 1 and "überfällig" in mail.outbox[-1].subject
    assert today  # the reminders take the day as a parameter; beat passes today


def test_staff_get_one_daily_digest_of_what_waits_for_them(application, walk, people):
    walk(application, State.SUBMITTED)
    mail.outbox.clear()
    assert notifications.send_daily_digests() == 1
    digest = mail.outbox[0]
    assert digest.to == [people.caseworker.email]
    assert application.file_number in digest.body and "Alice Amsel" in digest.body
    assert notifications.send_daily_digests() == 0  # same day, nothing twice


def test_a_correction_is_a_new_letter_and_the_old_one_stays(application, walk, people, programme):
    walk(application, State.APPROVED)
    original = application.letters.get(kind=LetterKind.APPROVAL)
    original_hash = original.sha256
    LetterTemplate.objects.create(
        municipality=programme.municipality,
        kind=LetterKind.APPROVAL,
        subject="Berichtigter Bescheid {{ application.file_number }}",
        body="Zuwendung: {{ application.approved_grant|euro }}",
        signatory="Amtsleitung",
    )

    from grants.letters import letter_correct

    corrected = letter_correct(letter_id=original.pk, by=people.caseworker)

    assert corrected.pk != original.pk and corrected.corrects == original
    assert "Zuwendung: 7.200,00 €" in one_line(pdf_text(corrected))
    original.refresh_from_db()
    assert original.sha256 == original_hash
    with original.file.open("rb") as pdf:
        assert hashlib.sha256(pdf.read()).hexdigest() == original_hash


def test_the_case_page_of_the_workspace_lists_the_letters_to_download(application, walk, client, people):
    walk(application, State.APPROVED)
    client.force_login(people.caseworker)
    page = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    for letter in application.letters.all():
        assert reverse("letter-download", args=[letter.pk]) in page
        assert letter.subject in page


def test_staff_wording_cannot_reach_into_accounts_or_other_templates(application, walk, programme, people):
    LetterTemplate.objects.create(
        municipality=programme.municipality,
        kind=LetterKind.RECEIPT,
        subject="Eingang {{ application.file_number }}",
        body="Hash: [{{ applicant.user.password }}] [{{ application.applicant.user.password }}]",
        signatory="Amt",
    )
    walk(application, State.SUBMITTED)
    text = one_line(pdf_text(application.letters.get()))
    assert "Hash: [] []" in text
    assert people.owner.password not in text
    with pytest.raises(ValidationError):
        LetterTemplate(
            municipality=programme.municipality, kind=LetterKind.APPROVAL, subject="x",
            body='{% include "letters/letter.html" %}', signatory="x",
        ).full_clean()  # fmt: skip
