"""The application page: data, checklist, steps with comments, refusals with reasons, notes, invoices."""

import pytest
from django.urls import reverse

from applicants.models import Consultation
from core.models import Municipality
from grants.models import InternalNote
from tests.factories import add_document, make_application

pytestmark = pytest.mark.django_db


def test_the_page_shows_grant_with_binding_rule_checklist_and_documents(client, people, case):
    application = case("submitted")
    client.force_login(people.caseworker)
    html = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "7.200,00" in html and "Förderhöchstbetrag je m²" in html  # the worked example of docs/domain.md
    assert "Vollständigkeitsprüfung" in html and "fd-check--missing" not in html
    assert reverse("workspace:document", args=[application.documents.first().pk]) in html
    assert "eingereicht" in html  # history


def test_the_checklist_names_what_is_missing(client, people, programme, allocation):
    application = make_application(
        programme=programme, applicant=people.alice, with_documents=False, with_consultation=False
    )
    from grants.services import application_submit

    application_submit(application_id=application.pk, by=people.owner)
    client.force_login(people.caseworker)
    html = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "0 von 1 liegen vor." in html
    assert "Keine Erstberatung erfasst" in html
    # The check is offered, and refused with its reasons on the page when pressed: never a 500.
    response = client.post(reverse("workspace:step", args=[application.pk, "check"]), {"comment": ""})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Die vorgeschriebene Erstberatung ist nicht erfasst." in body and 'role="alert"' in body
    application.refresh_from_db()
    assert application.state == "submitted"


def test_a_caseworker_checks_with_a_comment_that_lands_in_the_history(client, people, case):
    application = case("submitted")
    client.force_login(people.caseworker)
    response = client.post(
        reverse("workspace:step", args=[application.pk, "check"]), {"comment": "Alles vollständig."}, follow=True
    )
    application.refresh_from_db()
    assert application.state == "checked" and application.checked_by == people.caseworker
    html = response.content.decode()
    assert "Alles vollständig." in html and "Erledigt: Als geprüft bestätigen." in html


def test_rejecting_needs_a_reason(client, people, case):
    application = case("submitted")
    client.force_login(people.caseworker)
    response = client.post(reverse("workspace:step", args=[application.pk, "reject"]), {"comment": " "})
    assert response.status_code == 400
    assert "Bitte begründen Sie die Ablehnung." in response.content.decode()


def test_an_unknown_step_is_not_found(client, people, case):
    application = case("submitted")
    client.force_login(people.caseworker)
    assert client.post(reverse("workspace:step", args=[application.pk, "submit"])).status_code == 404
    assert client.post(reverse("workspace:step", args=[application.pk, "explode"])).status_code == 404
    assert client.get(reverse("workspace:step", args=[application.pk, "check"])).status_code == 405


def test_the_approver_approves_and_the_ledger_commits(client, people, case):
    application = case("checked")
    client.force_login(people.approver)
    client.post(reverse("workspace:step", args=[application.pk, "approve"]), {"comment": "Bewilligt."})
    application.refresh_from_db()
    assert application.state == "approved" and application.ledger_entries.get().amount == application.approved_grant


def test_internal_notes_are_kept_for_staff(client, people, case):
    application = case("submitted")
    client.force_login(people.approver)
    response = client.post(reverse("workspace:note", args=[application.pk]), {"text": "Rückruf vereinbart."})
    assert response.status_code == 302
    note = InternalNote.objects.get()
    assert note.author == people.approver
    assert "Rückruf vereinbart." in client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert client.post(reverse("workspace:note", args=[application.pk]), {"text": ""}).status_code == 400


def test_certifying_final_invoices_in_german_amounts_then_finance_pays(client, people, case):
    application = case("approved")
    add_document(application, "invoice")
    client.force_login(people.caseworker)
    url = reverse("workspace:certify", args=[application.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"net_facade": "10.000,00", "vat_facade": "20.000,00"})
    assert bad.status_code == 400 and "nicht höher sein als der Nettobetrag" in bad.content.decode()
    response = client.post(url, {"net_facade": "10.000,00", "vat_facade": "1.900,00", "comment": "sachlich richtig"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert str(application.payable_amount) == "5950.00"  # 50 % of 11,900 € gross, below the 40 €/m² cap
    assert application.invoices_certified_by == people.caseworker
    client.force_login(people.finance)
    client.post(reverse("workspace:step", args=[application.pk, "pay"]))
    application.refresh_from_db()
    assert application.state == "paid" and str(application.paid_amount) == "5950.00"


def test_a_consultation_recorded_before_the_application_is_found_and_linked(client, people, programme, allocation):
    client.force_login(people.caseworker)
    response = client.post(
        reverse("workspace:consultations"),
        {
            "name": "Alice Amsel",
            "email": "alice@example.org",
            "street": "Hauptstraße",
            "house_number": "12",
            "postcode": "12345",
            "city": "Musterstadt",
            "held_on": "2025-01-15",
            "adviser": "Vor-Ort-Büro",
            "topics": "Fassade",
        },  # fmt: skip
    )
    assert response.status_code == 302
    consultation = Consultation.objects.get()
    assert consultation.recorded_by == people.caseworker and consultation.applicant.user is None
    assert "Alice Amsel" in client.get(reverse("workspace:consultations"), {"q": "Hauptstr"}).content.decode()
    assert (
        "Keine Erstberatung gefunden"
        in client.get(reverse("workspace:consultations"), {"q": "Nirgendwo"}).content.decode()
    )

    # Alice applies later with her account: the automatic match misses, the page offers the consultation.
    application = make_application(programme=programme, applicant=people.alice, with_consultation=False)
    from grants.services import application_submit

    application_submit(application_id=application.pk, by=people.owner)
    html = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "Mögliche Erstberatungen" in html and "Vor-Ort-Büro" in html
    client.post(reverse("workspace:link_consultation", args=[application.pk]), {"consultation": consultation.pk})
    client.post(reverse("workspace:step", args=[application.pk, "check"]))
    application.refresh_from_db()
    assert application.state == "checked" and application.consultation == consultation


def test_a_consultation_form_shows_errors_linked_to_the_fields(client, people, musterstadt):
    client.force_login(people.caseworker)
    response = client.post(reverse("workspace:consultations"), {"name": "", "postcode": "12"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_name"' in html and 'aria-invalid="true"' in html and 'aria-describedby="id_name-error"' in html
    assert not Consultation.objects.exists()


def test_a_consultancy_records_a_consultation_for_the_town_it_was_held_for(client, people, musterstadt):
    nachbarstadt = Municipality.objects.get(name="Nachbarstadt")
    nachbarstadt.staff.add(people.caseworker)
    client.force_login(people.caseworker)
    form = client.get(reverse("workspace:consultations")).content.decode()
    assert "Nachbarstadt" in form and "Musterstadt" in form
    response = client.post(
        reverse("workspace:consultations"),
        {"municipality": nachbarstadt.pk, "name": "Nora Nachbar", "street": "Lindenweg", "house_number": "3",
         "postcode": "54321", "city": "Nachbarstadt", "held_on": "2025-02-01", "adviser": "Vor-Ort-Büro"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Consultation.objects.get().municipality == nachbarstadt


def test_a_pdf_document_shows_its_first_page_as_a_picture_to_staff_of_the_case(client, people, case):
    import io

    from django.core.files.base import ContentFile
    from PIL import Image
    from pypdf import PdfWriter

    application = case("submitted")
    writer, buffer = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(buffer)
    document = application.documents.first()
    document.file.save("angebot.pdf", ContentFile(buffer.getvalue()), save=True)
    url = reverse("workspace:document_preview", args=[document.pk])

    client.force_login(people.caseworker)
    assert url in client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.format == "PNG" and max(picture.size) == 360  # an A4 page, scaled

    client.force_login(people.foreign_caseworker)
    assert client.get(url).status_code == 404
    client.force_login(people.owner)
    assert client.get(url).status_code == 403  # the workspace is not the owner's


def test_a_broken_pdf_has_no_preview_and_says_so_instead_of_failing(client, people, case):
    application = case("submitted")
    document = application.documents.first()  # "%PDF-1.4" and nothing more
    client.force_login(people.caseworker)
    response = client.get(reverse("workspace:document_preview", args=[document.pk]))
    assert response.status_code == 404
