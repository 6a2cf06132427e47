"""The owner portal in a real headless Chromium, with axe-core on every page it visits.

An owner registers and confirms the address through the mailed link, checks the address,
applies in all steps with an upload, submits and sees the file number; another owner gets 404.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from grants import services
from grants.models import DeminimisDeclaration, Document, GrantApplication
from tests.browser import assert_accessible
from tests.factories import make_application

from .conftest import image_bytes, pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Fassade-streichen-2026"


def test_an_owner_registers_applies_in_all_steps_and_submits(login, people, programme):
    page = login.new_page()
    page.goto("/")
    assert_accessible(page)  # programmes with their conditions
    page.get_by_label("Straße").fill("Hauptstr.")
    page.get_by_label("Hausnummer").fill("12")
    page.get_by_role("button", name="Prüfen").click()
    expect(page.get_by_text("Hauptstr. 12 liegt im Fördergebiet von:")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Registrieren").click()
    assert_accessible(page)
    page.get_by_role("button", name="Konto anlegen").click()  # empty: the error summary takes the focus
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    assert_accessible(page)
    page.get_by_label("E-Mail").fill("erika@example.org")
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort (Wiederholung)").fill(PASSWORD)
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.get_by_role("heading", name="Bitte bestätigen Sie Ihre E-Mail-Adresse")).to_be_visible()
    assert_accessible(page)

    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    assert_accessible(page)
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url("**/meine-antraege/")
    assert_accessible(page)  # my applications, still empty

    page.get_by_role("link", name="Förderprogramme", exact=True).click()
    page.get_by_role("link", name="Fassadenprogramm Altstadt beantragen").click()
    expect(page.get_by_text("Schritt 1 von 5")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Vor- und Nachname").fill("Erika Mustermann")
    page.get_by_label("Straße").fill("Gartenweg")
    page.get_by_label("Hausnummer").fill("3")
    page.get_by_label("PLZ").fill("12345")
    page.get_by_label("Ort").fill("Musterstadt")
    page.get_by_label("IBAN für die Auszahlung").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Speichern und weiter").click()

    expect(page.get_by_text("Schritt 2 von 5")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Straße").fill("Hauptstraße")
    page.get_by_label("Hausnummer").fill("12")
    page.get_by_label("PLZ").fill("12345")
    page.get_by_label("Ort").fill("Musterstadt")
    page.get_by_role("button", name="Speichern und weiter").click()

    expect(page.get_by_text("Schritt 3 von 5")).to_be_visible()
    page.get_by_label("Fassade: Fläche in m²").fill("180")
    page.get_by_label("Fassade: Kosten netto in €").fill("35.294,12")
    page.get_by_label("Fassade: Umsatzsteuer in €").fill("6.705,88")
    page.get_by_label("Fassade: Kurzbeschreibung").click()  # leaving the field: htmx updates the preview in place
    preview = page.locator("#vorschau")
    preview.get_by_text("7.200,00 €").first.wait_for()
    expect(preview.get_by_text("Förderhöchstbetrag je m²").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Speichern und weiter").click()

    expect(page.get_by_text("Schritt 4 von 5")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Art der Unterlage").select_option(label="Angebot / Kostenvoranschlag")
    page.get_by_label("Dateien").set_input_files(
        [{"name": "angebot.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    page.get_by_role("button", name="Hochladen").click()
    expect(page.get_by_role("link", name="angebot.pdf")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Weiter zur Prüfung Ihrer Angaben").click()

    expect(page.get_by_text("Schritt 5 von 5")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Ich versichere, dass meine Angaben richtig und vollständig sind.").check()
    page.get_by_role("button", name="Antrag verbindlich einreichen").click()

    application = GrantApplication.objects.get(applicant__user__email="erika@example.org")
    assert application.state == "submitted" and application.file_number
    expect(page.get_by_text(f"Ihr Aktenzeichen lautet {application.file_number}")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Antrag {application.file_number}")).to_be_visible()
    assert page.locator(".kern-badge").inner_text() == "eingereicht"
    assert_accessible(page)  # the case page
    page.get_by_role("link", name="Antrag zurückziehen").click()
    assert_accessible(page)

    other = login(people.other_owner, next="/meine-antraege/")
    response = other.goto(f"/meine-antraege/{application.pk}/")
    assert response.status == 404
    assert_accessible(other)


def test_login_and_password_reset_pages_are_accessible(login):
    page = login.new_page()
    for path in ["/konto/anmelden/", "/konto/password/reset/"]:
        page.goto(path)
        assert_accessible(page)
    page.get_by_label("E-Mail").fill("niemand@example.org")
    page.get_by_role("button", name="Link anfordern").click()
    expect(page.get_by_text("Wenn es zu dieser Adresse ein Konto gibt")).to_be_visible()
    assert_accessible(page)


def test_an_owner_asks_for_a_deadline_extension_on_a_phone(login, people, case):
    application = case("approved")
    page = login(people.owner, next=f"/meine-antraege/{application.pk}/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Fristverlängerung beantragen").click()
    expect(page.get_by_role("heading", name="Fristverlängerung beantragen")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Fristverlängerung beantragen").click()  # no reasons: the error summary
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    assert_accessible(page)
    completion = application.completion_deadline + timedelta(days=90)
    invoices = application.invoice_deadline + timedelta(days=90)
    page.get_by_label("Neue Frist für den Abschluss der Maßnahme").fill(f"{completion:%Y-%m-%d}")
    page.get_by_label("Neue Frist für die Schlussrechnungen").fill(f"{invoices:%Y-%m-%d}")
    page.get_by_label("Begründung").fill("Die Fenster werden erst im Frühjahr geliefert.")
    page.get_by_role("button", name="Fristverlängerung beantragen").click()
    expect(page.get_by_text("Ihr Antrag auf Fristverlängerung ist eingegangen.")).to_be_visible()
    expect(page.get_by_role("cell", name="Die Fenster werden erst im Frühjahr geliefert.")).to_be_visible()
    assert_accessible(page)  # the case page with the table of extensions
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the phone's screen


def test_an_owner_asks_for_a_change_on_a_phone_and_sees_old_and_new(login, people, case):
    application = case("approved")
    page = login(people.owner, next=f"/meine-antraege/{application.pk}/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Änderung beantragen").click()
    expect(page.get_by_role("heading", name="Änderungsantrag stellen")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Änderungsantrag stellen").click()  # no reasons: the error summary
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    assert_accessible(page)
    page.get_by_label("Fassade: Fläche in m²").fill("250")
    page.get_by_label("Fassade: Kosten netto in €").fill("50.000,00")
    page.get_by_label("Fassade: Umsatzsteuer in €").fill("9.500,00")
    page.get_by_label("Begründung").fill("Die Giebelseite muss auch saniert werden.")
    page.get_by_role("button", name="Änderungsantrag stellen").click()
    expect(page.get_by_text("Ihr Änderungsantrag ist eingegangen.")).to_be_visible()
    expect(page.get_by_role("cell", name="180 m² → 250 m²")).to_be_visible()
    assert_accessible(page)  # the case page with the change, old → new
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_owner_enters_an_invoice_on_a_phone(login, people, case):
    application = case("approved")
    document = services.document_upload(
        application_id=application.pk,
        by=people.owner,
        kind=Document.Kind.INVOICE,
        file=SimpleUploadedFile("rechnung.pdf", pdf_bytes(), content_type="application/pdf"),
    )
    page = login(people.owner, next=f"/meine-antraege/{application.pk}/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Angaben zur Rechnung „rechnung.pdf“ erfassen").click()
    expect(page.get_by_role("heading", name="Rechnung erfassen")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Rechnung erfassen").click()  # nothing entered: the error summary
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    assert_accessible(page)
    page.get_by_label("Rechnungsnummer").fill("R-2026-17")
    page.get_by_label("Rechnungsdatum").fill(f"{date.today():%Y-%m-%d}")
    page.get_by_label("Rechnungssteller/in").fill("Malerbetrieb Specht")
    page.get_by_label("Was wird abgerechnet?").fill("Anstrich Straßenseite")
    page.get_by_label("Nettobetrag in €").fill("4.000,00")
    page.get_by_label("Umsatzsteuer in €").fill("760,00")
    page.get_by_role("button", name="Rechnung erfassen").click()
    expect(page.get_by_text("Die Rechnung rechnung.pdf ist erfasst.")).to_be_visible()
    expect(page.get_by_role("cell", name="4.760,00 €")).to_be_visible()
    assert_accessible(page)  # the case page with the table of invoices
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert document.invoice_record.gross_amount == Decimal("4760.00")


def test_an_owner_submits_the_proof_of_use_on_a_phone(login, people, case):
    application = case("approved")
    page = login(people.owner, next=f"/meine-antraege/{application.pk}/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Verwendungsnachweis einreichen").click()
    expect(page.get_by_role("heading", name="Verwendungsnachweis einreichen")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Verwendungsnachweis einreichen").click()  # nothing given: the error summary
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    expect(page.locator("#fehler").get_by_text("Es fehlen die Fotos nach der Maßnahme")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("Abschluss der Arbeiten am").fill(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_label("Sachbericht").fill("Die Straßenfassade ist gereinigt und neu gestrichen.")
    page.get_by_label("Schlussrechnungen").set_input_files(
        [{"name": "rechnung.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    page.get_by_label("Fotos nach der Maßnahme").set_input_files(
        [{"name": "nachher.png", "mimeType": "image/png", "buffer": image_bytes()}]
    )
    page.get_by_role("button", name="Verwendungsnachweis einreichen").click()
    expect(page.get_by_text("Ihr Verwendungsnachweis ist eingegangen.")).to_be_visible()
    expect(page.get_by_role("cell", name="Die Straßenfassade ist gereinigt und neu gestrichen.")).to_be_visible()
    proof = page.get_by_role("region", name=re.compile("^Verwendungsnachweis vom"))
    expect(proof.get_by_role("cell", name="nachher.png")).to_be_visible()
    expect(proof.get_by_role("cell", name="rechnung.pdf")).to_be_visible()
    assert_accessible(page)  # the case page with the proof waiting for its check
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_owner_reports_a_sale_and_answers_the_hearing_on_a_phone(login, people, case):
    from django.utils import timezone

    from grants import commitment

    application = case("documented")
    page = login(people.owner, next=f"/meine-antraege/{application.pk}/")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_text("Zweckbindungsfrist", exact=True)).to_be_visible()
    page.get_by_role("link", name="Veräußerung oder Umnutzung melden").click()
    assert_accessible(page)
    page.get_by_role("button", name="Meldung absenden").click()  # nothing filled in: the error summary
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    assert_accessible(page)
    page.get_by_label("veräußert oder umgenutzt am").fill(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_label("Erwerber/in oder neue Nutzung").fill("Familie Becker")
    page.get_by_role("button", name="Meldung absenden").click()
    expect(page.get_by_text("Ihre Meldung ist eingegangen")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    commitment.inspection_record(
        application_id=application.pk, by=people.caseworker, inspected_on=timezone.localdate(), finding="sale",
        notes="Verkauf laut Grundbuch.",
    )  # fmt: skip
    page.reload()
    page.get_by_role("link", name="Zur Anhörung äußern").click()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_owner_declares_de_minimis_aid_before_submitting(login, people, programme, allocation):
    programme.deminimis_regulation = "general"
    programme.save()
    application = make_application(programme=programme, applicant=people.alice)
    page = login(people.owner, next=f"/meine-antraege/{application.pk}/pruefen/")
    expect(page.get_by_text("Bitte geben Sie die De-minimis-Erklärung ab")).to_be_visible()  # a submission problem
    assert_accessible(page)
    page.get_by_role("link", name="De-minimis-Erklärung abgeben").click()
    expect(page.get_by_role("heading", name="Antrag stellen: De-minimis-Erklärung")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Erklärung speichern").click()  # nothing chosen: the error summary
    assert page.locator("#fehler").evaluate("element => element === document.activeElement")
    assert_accessible(page)
    page.get_by_label("Ja, die folgenden").check()
    page.get_by_label("Beihilfe 1: Tag der Gewährung").fill("2025-05-02")
    page.get_by_label("Beihilfe 1: Beihilfegeber").fill("Land Nordrhein-Westfalen")
    page.get_by_label("Beihilfe 1: Betrag in Euro").fill("12.500,00")
    page.get_by_role("button", name="Erklärung speichern").click()
    expect(page.get_by_text("Ihre De-minimis-Erklärung ist gespeichert")).to_be_visible()
    expect(page.get_by_text("Land Nordrhein-Westfalen")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Ich versichere").check()
    page.get_by_role("button", name="Antrag verbindlich einreichen").click()
    expect(page.get_by_text("Ihr Antrag ist eingereicht.")).to_be_visible()
    expect(page.get_by_role("heading", name="De-minimis-Erklärung")).to_be_visible()
    assert_accessible(page)  # the case page with the signed declaration
    declaration = DeminimisDeclaration.objects.get(application=application)
    assert declaration.signed_by == people.owner and declaration.aids.get().amount == Decimal("12500.00")
