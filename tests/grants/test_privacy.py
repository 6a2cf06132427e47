"""Data protection: closed cases are anonymised after their retention period, stale drafts deleted."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from applicants.models import Applicant, Consultation, User
from budgets.models import LedgerEntry
from grants import services
from grants.models import (
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    GrantApplication,
    InternalNote,
    Letter,
    LetterKind,
    ProofOfUse,
)
from grants.privacy import apply_data_retention
from grants.services import ComponentInput, CostInput
from grants.tasks import apply_data_retention as retention_task
from reports.statements import write_statement

from ..factories import ApplicantFactory, PropertyFactory, add_document, make_application

State = GrantApplication.State
pytestmark = pytest.mark.django_db


def years_later(years: int, days: int = 0):
    today = timezone.localdate()
    return today.replace(year=today.year + years) + timedelta(days=days)


def add_letter(application) -> Letter:
    content = b"%PDF-1.4\n% Bescheid an Alice Amsel\n"
    letter = Letter(
        application=application,
        kind=LetterKind.APPROVAL,
        key=f"test-{application.pk}",
        subject=f"Zuwendungsbescheid {application.file_number}",
        sha256=hashlib.sha256(content).hexdigest(),
    )
    letter.file.save("bescheid.pdf", ContentFile(content), save=False)
    letter.save()
    return letter


def statement_figures(programme, year) -> dict:
    totals = write_statement([programme], year, io.BytesIO())
    return {
        "rows": totals.rows,
        "columns": dict(totals.columns),
        "payments_total": totals.payments_total,
        "funded_costs": totals.funded_costs,
        "funded_eligible": totals.funded_eligible,
        "funded_grant": totals.funded_grant,
    }


def ledger(application) -> list[tuple]:
    return list(
        LedgerEntry.objects.filter(application=application)
        .order_by("pk")
        .values_list("kind", "amount", "federal_amount", "state_amount", "municipal_amount", "booked_at")
    )


def test_an_expired_funded_case_loses_its_personal_data_but_keeps_every_figure(case, people, allocation, client):
    application = case("documented")
    alice = people.alice
    InternalNote.objects.create(application=application, author=people.caseworker, text="Frau Amsel rief an.")
    StateLog.objects.for_(application).filter(transition="mark_checked").update(
        description="Rückfrage an alice@example.org erledigt, Alice Amsel ist Eigentümerin, IBAN DE89370400440532013000"
    )
    letter = add_letter(application)
    # What the owner typed about the works, in the case and in its change history.
    GrantApplication.objects.filter(pk=application.pk).update(description="Fassade, Rückruf Frau Amsel 0171 555")
    application.refresh_from_db()
    application.save()  # a history row with that text
    documents = list(application.documents.all())
    assert documents and all(default_storage.exists(d.file.name) for d in documents)
    letter_path = letter.file.name
    before_statement = statement_figures(allocation.programme, allocation.year)
    before_ledger = ledger(application)
    assert before_statement["rows"] == 1 and before_statement["payments_total"] == application.paid_amount
    assert len(before_ledger) >= 2
    figures = ("file_number", "state", "approved_grant", "paid_amount", "total_costs", "eligible_costs", "approved_at")
    before = {name: getattr(application, name) for name in figures}
    property_street = application.property.street

    # Documented today: commitment period 10 years, then 10 years of retention.
    apply_data_retention(today=years_later(20, days=1))

    application.refresh_from_db()
    alice.refresh_from_db()
    assert application.anonymised_at is not None
    assert {name: getattr(application, name) for name in figures} == before
    assert ledger(application) == before_ledger
    assert statement_figures(allocation.programme, allocation.year) == before_statement

    assert (alice.name, alice.iban, alice.email, alice.phone, alice.city, alice.house_number) == (
        "anonymisiert", "", "", "", "", "",
    )  # fmt: skip
    assert alice.anonymised_at is not None
    property = application.property
    property.refresh_from_db()
    assert (property.street, property.house_number, property.parcel, property.registered_by) == (
        property_street, "", "", None,
    )  # fmt: skip
    for document in Document.objects.filter(application=application):
        assert not document.file and document.removed_at is not None and document.original_name == "gelöscht"
    assert not any(default_storage.exists(d.file.name) for d in documents)
    letter = Letter.objects.get(pk=letter.pk)
    assert not letter.file and not default_storage.exists(letter_path)
    assert letter.sha256 == hashlib.sha256(b"%PDF-1.4\n% Bescheid an Alice Amsel\n").hexdigest()
    assert "Aufbewahrungsfrist" in letter.file_removed_note
    assert InternalNote.objects.get(application=application).text == "[anonymisiert]"
    assert application.description == "[anonymisiert]"
    assert not GrantApplication.history.filter(id=application.pk, description__contains="0171").exists()
    assert not CostItem.objects.filter(component__application=application).exclude(description="[anonymisiert]")
    comment = StateLog.objects.for_(application).get(transition="mark_checked").description
    assert "alice@example.org" not in comment and "Alice Amsel" not in comment and "DE8937" not in comment
    assert "erledigt" in comment

    owner = User.objects.get(pk=people.owner.pk)
    assert owner.username == f"geloescht-{owner.pk}" and not owner.is_active and not owner.email
    assert not owner.has_usable_password()
    # The history keeps copies of the account: they are anonymised too.
    assert set(User.history.filter(id=owner.pk).values_list("username", "email")) == {(owner.username, "")}
    assert not User.history.filter(email="alice@example.org").exists()

    client.force_login(people.caseworker)
    page = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "Alice Amsel" not in page and "Aufbewahrungsfrist gelöscht" in page and application.file_number in page
    assert client.get(reverse("workspace:document", args=[documents[0].pk])).status_code == 404
    assert client.get(reverse("letter-download", args=[letter.pk])).status_code == 404


def test_the_requests_after_approval_lose_their_texts_and_keep_their_figures(case, people):
    application = case("approved")
    larger = [
        ComponentInput("facade", Decimal("250"), (CostInput("Angebot Maler Amsel", Decimal("50000"), Decimal("9500")),))
    ]
    services.change_request(
        application_id=application.pk, by=people.owner, components=larger, reason="Rückruf Frau Amsel 0171 555"
    )
    services.change_check(application_id=application.pk, by=people.caseworker)
    services.change_approve(application_id=application.pk, by=people.approver, comment="Mit Frau Amsel besprochen")
    application.refresh_from_db()
    services.extension_request(
        application_id=application.pk,
        by=people.owner,
        reason="Frau Amsel ist im Krankenhaus",
        completion_deadline=application.completion_deadline + timedelta(days=90),
        invoice_deadline=application.invoice_deadline + timedelta(days=90),
    )
    services.extension_grant(application_id=application.pk, by=people.caseworker, comment="Telefonat mit Frau Amsel")
    invoices = [
        ComponentInput("facade", Decimal("250"), (CostInput("Schlussrechnung", Decimal("50000"), Decimal("9500")),))
    ]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    services.application_pay(application_id=application.pk, by=people.finance)
    add_document(application, Document.Kind.PHOTO_AFTER)
    services.application_document(application_id=application.pk, by=people.caseworker)
    application.refresh_from_db()

    apply_data_retention(today=years_later(20, days=1))

    change = ChangeRequest.objects.get(application=application)
    assert (change.reason, change.decision_comment) == ("[anonymisiert]", "")
    assert change.measures[0]["area_m2"] == "250.00" and change.measures[0]["costs"][0]["net_amount"] == "50000.00"
    assert "Amsel" not in str(change.measures) + str(change.measures_before)
    assert change.grant == Decimal("10000.00")
    extension = DeadlineExtension.objects.get(application=application)
    assert (extension.reason, extension.decision_comment) == ("[anonymisiert]", "")
    assert extension.completion_deadline == application.completion_deadline


def test_the_owners_proof_of_use_loses_its_report_and_remarks_and_keeps_its_dates_and_invoice_list(case, people):
    application = case("approved")
    add_document(application, Document.Kind.INVOICE)
    add_document(application, Document.Kind.PHOTO_AFTER)
    done_on = timezone.localdate()
    services.proof_submit(
        application_id=application.pk, by=people.owner, completed_on=done_on, report="Maler Amsel, Tel. 0171 555"
    )
    services.proof_return(application_id=application.pk, by=people.caseworker, comment="Frau Amsel anrufen")
    services.proof_submit(
        application_id=application.pk, by=people.owner, completed_on=done_on, report="Frau Amsel strich selbst"
    )
    services.proof_accept(application_id=application.pk, by=people.caseworker, comment="Mit Frau Amsel besprochen")
    invoices = [
        ComponentInput("facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("30000"), Decimal("5700")),))
    ]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    services.application_pay(application_id=application.pk, by=people.finance)
    services.application_document(application_id=application.pk, by=people.caseworker)

    apply_data_retention(today=years_later(20, days=1))

    proofs = list(ProofOfUse.objects.filter(application=application).order_by("pk"))
    assert [(p.report, p.decision_comment) for p in proofs] == [("[anonymisiert]", "")] * 2
    assert [p.outcome for p in proofs] == ["returned", "accepted"]
    assert all(p.completed_on == done_on and p.decided_at and p.submitted_at for p in proofs)
    assert [p.documents.count() for p in proofs] == [2, 2]  # the invoice list stays, its files are gone
    assert not any(d.file for d in proofs[1].documents.all())


def test_a_case_within_its_retention_period_and_a_live_case_are_untouched(case, people):
    documented = case("documented")
    bobs = make_application(programme=documented.programme, applicant=people.bob)
    services.application_submit(application_id=bobs.pk, by=people.other_owner)

    report = apply_data_retention(today=years_later(19))
    assert report.applications == [] and report.applicants == []

    # Bob's case is live however old it gets; Alice's funded case has run out by then.
    apply_data_retention(today=years_later(40))
    bobs.refresh_from_db()
    people.bob.refresh_from_db()
    assert bobs.anonymised_at is None and people.bob.name == "Bob Brandt"
    assert all(d.file for d in bobs.documents.all())
    assert User.objects.get(pk=people.other_owner.pk).is_active


def test_a_rejected_case_is_dated_by_its_decision(case, people):
    rejected = case("submitted")
    services.application_reject(application_id=rejected.pk, by=people.caseworker, comment="Außerhalb des Gebiets.")

    assert apply_data_retention(today=years_later(9, days=364)).applications == []
    assert apply_data_retention(today=years_later(10)).applications == [rejected.file_number]


def test_a_person_with_one_live_case_is_not_anonymised(case, people):
    withdrawn = case("submitted")
    services.application_withdraw(application_id=withdrawn.pk, by=people.owner)
    live = case("checked", property=PropertyFactory(house_number="20"))

    apply_data_retention(today=years_later(11))

    withdrawn.refresh_from_db()
    live.refresh_from_db()
    people.alice.refresh_from_db()
    assert withdrawn.anonymised_at is not None
    assert not any(d.file for d in withdrawn.documents.all())
    assert live.anonymised_at is None and all(d.file for d in live.documents.all())
    assert people.alice.name == "Alice Amsel" and people.alice.iban
    assert User.objects.get(pk=people.owner.pk).is_active


def test_a_person_with_several_profiles_keeps_the_account_while_another_profile_is_live(case, people, programme):
    second_profile = ApplicantFactory(user=people.owner, name="Alice Amsel GmbH")
    other = make_application(programme=programme, applicant=second_profile, property=PropertyFactory(house_number="30"))
    services.application_submit(application_id=other.pk, by=people.owner)
    rejected = case("submitted")
    services.application_reject(application_id=rejected.pk, by=people.caseworker, comment="nein")

    apply_data_retention(today=years_later(11))

    people.alice.refresh_from_db()
    assert people.alice.name == "anonymisiert"
    assert Applicant.objects.get(pk=second_profile.pk).name == "Alice Amsel GmbH"
    assert User.objects.get(pk=people.owner.pk).username == "alice"


def test_old_drafts_are_deleted_with_their_files_and_young_ones_kept(programme, people, settings):
    settings.DRAFT_RETENTION_DAYS = 365
    old = make_application(programme=programme, applicant=people.alice)
    young = make_application(programme=programme, applicant=people.bob)
    old_files = [d.file.name for d in old.documents.all()]
    GrantApplication.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=366))
    GrantApplication.objects.filter(pk=young.pk).update(updated_at=timezone.now() - timedelta(days=364))

    report = retention_task.delay().get()

    assert "1 Entwürfe gelöscht" in report
    assert not GrantApplication.objects.filter(pk=old.pk).exists()
    assert not Document.objects.filter(application_id=old.pk).exists()
    assert old_files and not any(default_storage.exists(name) for name in old_files)
    assert not GrantApplication.history.filter(id=old.pk).exists()
    assert GrantApplication.objects.filter(pk=young.pk).exists()
    assert all(default_storage.exists(d.file.name) for d in young.documents.all())
    # Alice's profile stays: her consultation still refers to it.
    assert Applicant.objects.filter(pk=people.alice.pk).exists()


def test_a_returned_draft_is_no_stale_draft(case, people, settings):
    returned = case("submitted")
    services.application_return_to_applicant(application_id=returned.pk, by=people.caseworker, comment="Foto fehlt")
    GrantApplication.objects.filter(pk=returned.pk).update(updated_at=timezone.now() - timedelta(days=1000))

    assert apply_data_retention().drafts == []
    assert GrantApplication.objects.filter(pk=returned.pk).exists()


def test_the_command_lists_in_a_dry_run_and_anonymises_otherwise(case, people, capsys):
    rejected = case("submitted")
    services.application_reject(application_id=rejected.pk, by=people.caseworker, comment="nein")
    # Rejected eleven years ago (retention: ten years from the decision).
    StateLog.objects.for_(rejected).update(timestamp=timezone.now() - timedelta(days=11 * 366))
    # And the initial consultation before it, as long ago (a recent one would keep the person live).
    Consultation.objects.filter(applicant=people.alice).update(held_on=timezone.localdate() - timedelta(days=11 * 366))

    call_command("anonymise_expired", "--dry-run")
    out = capsys.readouterr().out
    assert f"Würde Fall {rejected.file_number} anonymisieren" in out
    assert f"Würde Benutzerkonto {people.owner.pk} anonymisieren" in out
    rejected.refresh_from_db()
    assert rejected.anonymised_at is None and Applicant.objects.get(pk=people.alice.pk).name == "Alice Amsel"

    call_command("anonymise_expired")
    assert f"Fall {rejected.file_number} anonymisiert" in capsys.readouterr().out
    assert Applicant.objects.get(pk=people.alice.pk).name == "anonymisiert"


def test_the_draft_page_says_until_when_the_draft_is_kept(programme, people, client, settings):
    settings.DRAFT_RETENTION_DAYS = 100
    draft = make_application(programme=programme, applicant=people.alice)
    client.force_login(people.owner)
    kept = (timezone.localdate() + timedelta(days=100)).strftime("%d.%m.%Y")

    for url in (reverse("portal:application", args=[draft.pk]), reverse("portal:applications")):
        page = client.get(url).content.decode()
        assert kept in page and "gelöscht" in page, url


def test_the_daily_run_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["data-retention"]
    from config.celery import app

    assert entry["task"] in app.tasks


def test_a_person_advised_again_recently_keeps_their_data_while_the_old_case_is_cleaned(case, people):
    from applicants.models import Consultation

    withdrawn = case("submitted")
    services.application_withdraw(application_id=withdrawn.pk, by=people.owner)
    later = years_later(11)
    Consultation.objects.create(
        municipality=withdrawn.programme.municipality,
        applicant=people.alice,
        property=withdrawn.property,
        held_on=later - timedelta(days=30),
        adviser="Vor-Ort-Büro",
    )

    report = apply_data_retention(today=later)

    withdrawn.refresh_from_db()
    people.alice.refresh_from_db()
    assert withdrawn.anonymised_at is not None  # the expired case is cleaned on its own
    assert report.applicants == [] and people.alice.name == "Alice Amsel"  # the person is still being advised
    assert User.objects.get(pk=people.owner.pk).is_active
