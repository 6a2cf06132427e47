"""Verwendungsnachweis der Antragsteller/in: the owner's proof of use after the works, and the caseworker's check.

Through the services, the portal, the workspace and the API: the report, the day the works were finished and the
files come as one step, all or none; the caseworker accepts the proof or gives it back with a message; only an
accepted proof (or none at all, as before) lets the invoices be certified and the grant be paid.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets.models import LedgerEntry
from core.errors import DomainError
from grants import services
from grants.models import Document, GrantApplication, OutboundEmail, ProofOfUse
from grants.services import ComponentInput, CostInput

from ..factories import add_document
from ..portal.conftest import image_bytes, pdf_bytes

State = GrantApplication.State
pytestmark = pytest.mark.django_db

REPORT = "Die Straßenfassade wurde gereinigt, ausgebessert und in Ocker gestrichen; der Sockel ist neu verputzt."
INVOICES = [
    ComponentInput("facade", Decimal("180"), (CostInput("Schlussrechnung Maler", Decimal("30000"), Decimal("5700")),))
]


def today():
    return timezone.localdate()


def pdf(name="rechnung.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def photo(name="fassade-nachher.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("JPEG"), content_type="image/jpeg")


def submit(application, people, **kwargs):
    arguments = {"completed_on": today(), "report": REPORT, "invoices": [pdf()], "photos": [photo()], **kwargs}
    return services.proof_submit(application_id=application.pk, by=people.owner, **arguments)


def frozen(application) -> dict:
    """What a refused step must leave as it was."""
    return {
        "application": GrantApplication.objects.filter(pk=application.pk).values().get(),
        "proofs": list(ProofOfUse.objects.values()),
        "proof documents": list(ProofOfUse.documents.through.objects.values()),
        "documents": list(Document.objects.values()),
        "ledger": list(LedgerEntry.objects.values()),
        "history": StateLog.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def stored_files(settings) -> list[str]:
    return sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())


def test_submitted_with_files_accepted_certified_and_paid(case, people, django_capture_on_commit_callbacks):
    application = case("approved")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        proof = submit(application, people)
    assert mail.outbox == []  # the owner submitted it: no e-mail to them
    application.refresh_from_db()
    assert application.state == State.APPROVED and application.proof_submitted_at == proof.submitted_at
    assert proof.outcome == ProofOfUse.Outcome.OPEN and proof.submitted_by == people.owner
    assert sorted(proof.documents.values_list("kind", "original_name")) == [
        ("invoice", "rechnung.pdf"),
        ("photo_after", "fassade-nachher.jpg"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        services.proof_accept(application_id=application.pk, by=people.caseworker, comment="Vollständig.")
    application.refresh_from_db()
    proof.refresh_from_db()
    assert application.proof_submitted_at is None and application.proof_accepted_at == proof.decided_at
    assert (proof.outcome, proof.decided_by, proof.decision_comment) == ("accepted", people.caseworker, "Vollständig.")
    assert mail.outbox[-1].to == [people.owner.email]
    assert mail.outbox[-1].subject.endswith("Verwendungsnachweis geprüft")
    assert "Zuwendung ausgezahlt" in mail.outbox[-1].body and "Vollständig." in mail.outbox[-1].body

    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=INVOICES)
    services.application_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    assert application.state == State.PAID and application.paid_amount == Decimal("7200.00")
    history = [log.transition for log in StateLog.objects.for_(application).order_by("pk")][-4:]
    assert history == ["submit_proof", "accept_proof", "certify_invoices", "pay"]


def test_returned_with_a_message_and_submitted_again(case, people, django_capture_on_commit_callbacks):
    application = case("approved")
    first = submit(application, people)
    before = frozen(application)
    with pytest.raises(DomainError) as missing:
        services.proof_return(application_id=application.pk, by=people.caseworker, comment="  ")
    assert missing.value.status == 400 and "was am Verwendungsnachweis fehlt" in str(missing.value)
    assert frozen(application) == before

    with django_capture_on_commit_callbacks(execute=True):
        services.proof_return(application_id=application.pk, by=people.caseworker, comment="Es fehlt die Hofseite.")
    application.refresh_from_db()
    first.refresh_from_db()
    assert application.proof_submitted_at is None and application.proof_accepted_at is None
    assert (first.outcome, first.decision_comment) == ("returned", "Es fehlt die Hofseite.")
    assert "erneut ein" in mail.outbox[-1].body and "Es fehlt die Hofseite." in mail.outbox[-1].body

    # Again, with one more photo only: the invoice handed in before still counts and is listed again.
    second = submit(application, people, invoices=[], photos=[photo("hofseite.jpg")])
    assert second.outcome == ProofOfUse.Outcome.OPEN
    assert sorted(second.documents.values_list("original_name", flat=True)) == [
        "fassade-nachher.jpg",
        "hofseite.jpg",
        "rechnung.pdf",
    ]
    services.proof_accept(application_id=application.pk, by=people.caseworker)
    assert list(application.proofs.values_list("outcome", flat=True)) == ["returned", "accepted"]


def test_certification_waits_for_the_check_of_a_submitted_proof(case, people):
    application = case("approved")
    submit(application, people)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=INVOICES)
    assert refusal.value.status == 409
    assert refusal.value.reasons == ["Der Verwendungsnachweis ist eingereicht und noch nicht geprüft."]
    assert frozen(application) == before


def test_the_invoices_are_certified_without_any_proof_as_before(case, people):
    application = case("approved")
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=INVOICES)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        submit(application, people)
    assert refusal.value.status == 409 and "schon bestätigt" in str(refusal.value)
    assert frozen(application) == before


def test_one_proof_waits_at_a_time_and_none_after_one_is_accepted(case, people):
    application = case("approved")
    submit(application, people)
    before = frozen(application)
    with pytest.raises(DomainError, match="eingereicht und noch nicht geprüft"):
        submit(application, people)
    assert frozen(application) == before
    services.proof_accept(application_id=application.pk, by=people.caseworker)
    before = frozen(application)
    with pytest.raises(DomainError, match="schon geprüft und anerkannt"):
        submit(application, people)
    assert frozen(application) == before


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"report": "   "}, "Bitte beschreiben Sie im Sachbericht"),
        ({"report": "x" * 5001}, "zu lang"),
        ({"photos": []}, "Es fehlen die Fotos nach der Maßnahme"),
        ({"invoices": []}, "Es fehlen die Schlussrechnungen"),
        ({"completed_on": None}, "an welchem Tag die Arbeiten abgeschlossen wurden"),
        ({"completed_on": "tomorrow"}, "nicht in der Zukunft"),
        ({"completed_on": "before approval"}, "nicht vor der Bewilligung"),
    ],
)
def test_a_proof_missing_a_part_is_refused_with_words_and_nothing_is_written(case, people, settings, changes, message):
    application = case("approved")
    if changes.get("completed_on") == "tomorrow":
        changes["completed_on"] = today() + timedelta(days=1)
    if changes.get("completed_on") == "before approval":
        changes["completed_on"] = timezone.localdate(application.approved_at) - timedelta(days=1)
    before, files = frozen(application), stored_files(settings)
    with pytest.raises(DomainError) as refusal:
        submit(application, people, **changes)
    assert refusal.value.status == 409
    assert message in str(refusal.value)
    assert frozen(application) == before
    assert stored_files(settings) == files


def test_every_missing_part_is_named_at_once(case, people):
    application = case("approved")
    with pytest.raises(DomainError) as refusal:
        submit(application, people, report="", invoices=[], photos=[])
    assert len(refusal.value.reasons) == 3


def test_the_files_come_with_the_proof_all_or_none(case, people, settings):
    application = case("approved")
    before, files = frozen(application), stored_files(settings)
    bad = SimpleUploadedFile("foto.exe", b"MZ\x90\x00 not a photo", content_type="image/jpeg")
    with pytest.raises(ValidationError) as refusal:
        submit(application, people, photos=[photo(), bad])
    assert "foto" in str(refusal.value)
    assert frozen(application) == before
    assert stored_files(settings) == files  # the invoice and the first photo are gone too


def test_a_fault_after_the_files_were_stored_leaves_no_file_and_no_row(case, people, settings):
    application = case("approved")
    before, files = frozen(application), stored_files(settings)
    with (
        mock.patch.object(StateLog.objects, "create", side_effect=RuntimeError("log down")),
        pytest.raises(RuntimeError),
    ):
        submit(application, people)
    assert frozen(application) == before
    assert stored_files(settings) == files


def test_an_xml_file_is_no_photo_and_leaves_nothing(case, people):
    application = case("approved")
    xml = SimpleUploadedFile("nachher.xml", b"<?xml version='1.0'?><x/>", content_type="application/xml")
    before = frozen(application)
    with pytest.raises(ValidationError):
        submit(application, people, photos=[xml])
    assert frozen(application) == before


def test_invoices_and_photos_uploaded_before_make_the_proof(case, people):
    application = case("approved")
    add_document(application, Document.Kind.INVOICE)
    add_document(application, Document.Kind.PHOTO_AFTER)
    proof = submit(application, people, invoices=[], photos=[])
    assert sorted(proof.documents.values_list("kind", flat=True)) == ["invoice", "photo_after"]


@pytest.mark.parametrize("state", ["draft", "submitted", "checked", "paid"])
def test_only_an_approved_case_takes_a_proof(case, people, state):
    application = case(state)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        submit(application, people)
    assert refusal.value.status == 409
    assert frozen(application) == before


@pytest.mark.parametrize("step", ["accept_proof", "return_proof"])
def test_nothing_to_check_without_a_proof(case, people, step):
    application = case("approved")
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.SERVICES[step](application_id=application.pk, by=people.caseworker, comment="Grund")
    assert refusal.value.status == 409
    assert refusal.value.reasons == ["Zu diesem Antrag wartet kein Verwendungsnachweis auf die Prüfung."]
    assert frozen(application) == before


PERSONAS = ["owner", "other_owner", "caseworker", "approver", "finance", "auditor", "foreign_caseworker"]
ALLOWED = {"submit_proof": {"owner"}, "accept_proof": {"caseworker"}, "return_proof": {"caseworker"}}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("step", ALLOWED)
def test_each_proof_step_only_for_its_role(case, people, step, persona):
    application = case("approved")
    if step != "submit_proof":
        submit(application, people)
    before = frozen(application)
    if step == "submit_proof":
        kwargs = {"completed_on": today(), "report": REPORT, "invoices": [pdf()], "photos": [photo()]}
    else:
        kwargs = {"comment": "Begründung"}
    call = lambda: services.SERVICES[step](application_id=application.pk, by=getattr(people, persona), **kwargs)  # noqa: E731
    if persona in ALLOWED[step]:
        call()
        assert frozen(application) != before
        return
    with pytest.raises(DomainError) as refusal:
        call()
    expected = 404 if persona in {"other_owner", "foreign_caseworker"} else 403
    assert refusal.value.status == expected
    assert frozen(application) == before


def test_withdrawing_the_case_ends_its_waiting_proof(case, people):
    application = case("approved")
    submit(application, people)
    services.application_withdraw(application_id=application.pk, by=people.owner)
    application.refresh_from_db()
    assert application.state == State.WITHDRAWN and application.proof_submitted_at is None
    assert ProofOfUse.objects.get().outcome == ProofOfUse.Outcome.WITHDRAWN


def test_the_caseworker_finds_the_proof_in_the_queue_and_accepts_it_in_the_workspace(case, people):
    application = case("approved")
    submit(application, people)
    caseworker = Client()
    caseworker.force_login(people.caseworker)
    queue = caseworker.get(reverse("workspace:start")).content.decode()
    assert application.file_number in queue and "Verwendungsnachweis anerkennen" in queue
    page = caseworker.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert REPORT in page and "rechnung.pdf" in page and "fassade-nachher.jpg" in page
    assert f"{today():%d.%m.%Y}" in page and "eingereicht" in page
    assert "Schlussrechnung prüfen" not in page  # the certification waits for the check
    refused = caseworker.post(reverse("workspace:step", args=[application.pk, "return_proof"]), {"comment": ""})
    assert refused.status_code == 400
    done = caseworker.post(reverse("workspace:step", args=[application.pk, "accept_proof"]), {"comment": ""})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.proof_accepted_at is not None
    page = caseworker.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "anerkannt" in page and "Schlussrechnung prüfen" in page
    queue = caseworker.get(reverse("workspace:start")).content.decode()
    assert "Verwendungsnachweis anerkennen" not in queue


def test_the_owner_submits_in_the_portal_is_told_what_is_missing_and_sees_the_return(case, people):
    application = case("approved")
    client = Client()
    client.force_login(people.owner)
    url = reverse("portal:submit_proof", args=[application.pk])
    assert url in client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert client.get(url).status_code == 200

    empty = client.post(url, {"completed_on": f"{today():%Y-%m-%d}", "report": ""})
    page = empty.content.decode()
    assert empty.status_code == 400
    assert "Bitte beschreiben Sie im Sachbericht" in page
    assert "Es fehlen die Schlussrechnungen" in page and "Es fehlen die Fotos nach der Maßnahme" in page
    no_photo = client.post(url, {"completed_on": f"{today():%Y-%m-%d}", "report": REPORT, "invoices": [pdf()]})
    assert no_photo.status_code == 409 and "Es fehlen die Fotos nach der Maßnahme" in no_photo.content.decode()
    assert not ProofOfUse.objects.exists() and not application.documents.filter(kind="invoice").exists()

    response = client.post(
        url,
        {"completed_on": f"{today():%Y-%m-%d}", "report": REPORT, "invoices": [pdf()], "photos": [photo()]},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ihr Verwendungsnachweis ist eingegangen." in page and "wird geprüft" in page
    assert REPORT in page and url not in page  # one at a time
    assert client.get(url).status_code == 302

    services.proof_return(application_id=application.pk, by=people.caseworker, comment="Bitte ein Foto der Hofseite.")
    page = client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert "Bitte ein Foto der Hofseite." in page and url in page
    form = client.get(url).content.decode()
    assert "Bitte ein Foto der Hofseite." in form and REPORT in form  # the report to start from
    assert "rechnung.pdf" in form  # what is already uploaded
    again = client.post(
        url, {"completed_on": f"{today():%Y-%m-%d}", "report": REPORT, "photos": [photo("hof.png")]}, follow=True
    )
    assert "Ihr Verwendungsnachweis ist eingegangen." in again.content.decode()
    assert ProofOfUse.objects.filter(outcome="open").get().documents.count() == 3


def test_the_proof_page_of_someone_else_is_not_found_and_of_a_submitted_case_not_offered(case, people):
    submitted = case("submitted")
    client = Client()
    client.force_login(people.owner)
    assert client.get(reverse("portal:submit_proof", args=[submitted.pk])).status_code == 302
    other = Client()
    other.force_login(people.other_owner)
    assert other.get(reverse("portal:submit_proof", args=[submitted.pk])).status_code == 404


def test_the_api_submits_checks_and_shows_the_proof(case, people):
    application = case("approved")

    def client(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return c

    owner = client(people.owner)
    url = f"/api/applications/{application.pk}/submit-proof/"
    body = {"completed_on": f"{today():%Y-%m-%d}", "report": REPORT}
    assert client(people.caseworker).post(url, body, format="json").status_code == 403
    assert owner.post(url, {**body, "report": ""}, format="json").status_code == 400
    assert owner.post(url, body).status_code == 415  # JSON only
    missing = owner.post(url, body, format="json")
    assert missing.status_code == 409
    assert missing.json()["reasons"] == [
        "Es fehlen die Schlussrechnungen: Bitte laden Sie mindestens eine Rechnung hoch.",
        "Es fehlen die Fotos nach der Maßnahme: Bitte laden Sie mindestens ein Foto der fertigen Arbeiten hoch.",
    ]
    documents = f"/api/applications/{application.pk}/documents/"
    for kind, file in (("invoice", pdf()), ("photo_after", photo())):
        assert owner.post(documents, {"kind": kind, "file": file}, format="multipart").status_code == 201
    response = owner.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["proof_submitted_at"] and data["proofs"][0]["outcome"] == "open"
    assert data["proofs"][0]["report"] == REPORT and len(data["proofs"][0]["documents"]) == 2
    assert owner.post(url, body, format="json").status_code == 409

    base = f"/api/applications/{application.pk}"
    certify = {"invoices": [{"kind": "facade", "area_m2": "180", "costs": [{"description": "Rechnung",
                                                                            "net_amount": "30000.00"}]}]}  # fmt: skip
    assert client(people.caseworker).post(f"{base}/certify-invoices/", certify, format="json").status_code == 409
    assert client(people.approver).post(f"{base}/accept-proof/", {}, format="json").status_code == 403
    assert client(people.caseworker).post(f"{base}/return-proof/", {}, format="json").status_code == 400
    done = client(people.caseworker).post(f"{base}/accept-proof/", {}, format="json")
    assert done.status_code == 200
    data = done.json()
    assert data["proof_submitted_at"] is None and data["proof_accepted_at"]
    assert data["proofs"][0]["outcome"] == "accepted"
    assert client(people.caseworker).post(f"{base}/certify-invoices/", certify, format="json").status_code == 200
