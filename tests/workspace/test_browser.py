"""The workspace in a real headless Chromium (Debian's), with axe-core on every page it visits.

Caseworker checks, approver approves (and is refused on a case they checked), caseworker
certifies the final invoices and finance pays.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from grants.services import application_check
from tests.browser import assert_accessible
from tests.factories import UserFactory, add_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_caseworker_checks_an_application(login, people, case, allocation):
    application = case("submitted")
    page = login(people.caseworker)
    assert page.locator("html").get_attribute("lang") == "de"
    assert_accessible(page)  # start page with queue, counts, budget

    page.get_by_role("link", name="Anträge", exact=True).click()
    page.get_by_role("textbox", name="Suche").fill(application.file_number)
    page.get_by_role("button", name="Anwenden").click()
    expect(page.get_by_text("1 Antrag gefunden")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name=application.file_number).click()
    expect(page.get_by_role("heading", name="Vollständigkeitsprüfung")).to_be_visible()
    assert_accessible(page)
    page.locator("#comment-check").fill("Unterlagen vollständig, Fördergebiet geprüft.")
    page.get_by_role("button", name="Als geprüft bestätigen").click()
    expect(page.get_by_text("Erledigt: Als geprüft bestätigen.")).to_be_visible()
    expect(page.get_by_text("Unterlagen vollständig, Fördergebiet geprüft.")).to_be_visible()
    assert_accessible(page)
    application.refresh_from_db()
    assert application.state == "checked"

    for path in [
        "/arbeitsplatz/haushalt/",
        f"/arbeitsplatz/haushalt/{allocation.pk}/",
        "/arbeitsplatz/erstberatungen/",
    ]:
        page.goto(path)
        assert_accessible(page)


def test_an_approver_approves_and_is_refused_on_a_case_they_checked(login, people, case, musterstadt):
    application = case("checked")
    page = login(people.approver)
    page.goto(f"/arbeitsplatz/antraege/{application.pk}/")
    page.locator("#comment-approve").fill("Bewilligt wie beantragt.")
    page.get_by_role("button", name="Bewilligen").click()
    expect(page.get_by_text("Erledigt: Bewilligen.")).to_be_visible()
    assert_accessible(page)
    application.refresh_from_db()
    assert application.state == "approved" and application.approved_by == people.approver

    both = UserFactory(roles=["caseworker", "approver"], municipalities=[musterstadt], first_name="Anke")
    own = case("submitted")
    application_check(application_id=own.pk, by=both)
    page = login(both)
    page.goto(f"/arbeitsplatz/antraege/{own.pk}/")
    assert page.get_by_role("button", name="Bewilligen").count() == 0
    expect(page.get_by_text("die Bewilligung muss eine andere Person aussprechen").first).to_be_visible()
    assert_accessible(page)


def test_a_caseworker_certifies_the_invoices_and_finance_pays(login, people, case):
    application = case("approved")
    add_document(application, "invoice")
    page = login(people.caseworker)
    page.goto(f"/arbeitsplatz/antraege/{application.pk}/")
    page.get_by_role("link", name="Schlussrechnung prüfen").click()
    assert_accessible(page)
    page.get_by_label("Fassade: netto in €").fill("30.000,00")
    page.get_by_label("Fassade: Umsatzsteuer in €").fill("5.700,00")
    page.get_by_role("button", name="Sachlich richtig bestätigen").click()
    expect(page.get_by_text("Die Schlussrechnung ist als sachlich richtig bestätigt.")).to_be_visible()
    assert page.get_by_role("button", name="Auszahlung freigeben").count() == 0  # four-eyes: not for the certifier

    page = login(people.finance)
    expect(page.get_by_role("link", name=application.file_number)).to_be_visible()  # waits in finance's queue
    page.get_by_role("link", name=application.file_number).click()
    assert_accessible(page)
    page.get_by_role("button", name="Auszahlung freigeben").click()
    expect(page.get_by_text("Erledigt: Auszahlung freigeben.")).to_be_visible()
    assert_accessible(page)
    application.refresh_from_db()
    assert application.state == "paid" and str(application.paid_amount) == "7200.00"


def test_a_caseworker_records_an_inspection_that_opens_the_hearing_and_the_approver_decides(login, people, case):
    from datetime import timedelta

    from django.utils import timezone

    application = case("documented")
    page = login(people.caseworker)
    page.get_by_role("link", name="Zweckbindung", exact=True).click()
    expect(page.get_by_role("heading", name="Zweckbindung", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=application.file_number)).to_be_visible()
    assert_accessible(page)  # the list with its filters
    page.get_by_role("link", name=application.file_number).click()
    page.get_by_role("link", name="Vor-Ort-Kontrolle erfassen").click()
    assert_accessible(page)  # the inspection form
    page.get_by_label("geförderter Zustand nicht erhalten").check()
    page.get_by_role("button", name="Kontrolle erfassen").click()  # a finding without notes: the error summary
    assert_accessible(page)
    page.get_by_label("Feststellungen").fill("Die Holzfenster sind durch Kunststofffenster ersetzt.")
    page.get_by_role("button", name="Kontrolle erfassen").click()
    expect(page.get_by_text("Die Vor-Ort-Kontrolle ist erfasst.")).to_be_visible()
    expect(
        page.get_by_role("table", name="Vor-Ort-Kontrollen").get_by_role(
            "cell", name="Die Holzfenster sind durch Kunststofffenster ersetzt."
        )
    ).to_be_visible()
    assert_accessible(page)  # the case page with the commitment period and the revocation case

    application.refresh_from_db()
    application.open_revocation.__class__.objects.filter(pk=application.open_revocation_id).update(
        hearing_deadline=timezone.localdate() - timedelta(days=1)
    )
    page = login(people.approver, next=f"/arbeitsplatz/antraege/{application.pk}/widerruf/entscheidung/")
    expect(page.get_by_role("heading", name="Über den Widerruf entscheiden")).to_be_visible()
    assert_accessible(page)  # the decision form with the hearing


def test_the_revocation_form_starts_from_the_owners_report_of_a_sale(login, people, case):
    from django.utils import timezone

    from grants import commitment

    application = case("documented")
    commitment.sale_report(
        application_id=application.pk, by=people.owner, sold_on=timezone.localdate(), buyer="Familie Becker"
    )
    page = login(people.caseworker, next=f"/arbeitsplatz/antraege/{application.pk}/widerruf/")
    expect(page.get_by_role("heading", name="Widerrufsverfahren eröffnen")).to_be_visible()
    expect(page.get_by_label("Sachverhalt")).to_contain_text("Familie Becker")
    assert_accessible(page)


def test_finance_gathers_and_orders_a_payment_run(login, people, case, musterstadt):
    from datetime import timedelta

    from django.utils import timezone

    musterstadt.debtor_name, musterstadt.debtor_iban = "Stadtkasse Musterstadt", "DE02500105170137075030"
    musterstadt.save()
    application = case("paid")
    page = login(people.finance)
    page.get_by_role("link", name="Zahlungsläufe", exact=True).click()
    expect(page.get_by_text("1 freigegebene Zahlung wartet auf einen Lauf.")).to_be_visible()
    assert_accessible(page)
    day = timezone.localdate() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    page.get_by_label("Ausführungstag").fill(f"{day:%Y-%m-%d}")
    page.get_by_role("button", name="Zahlungslauf zusammenstellen").click()
    expect(page.get_by_text("Der Zahlungslauf ist zusammengestellt.")).to_be_visible()
    expect(page.get_by_role("link", name=application.file_number)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Rechnerisch richtig – anordnen").click()
    expect(page.get_by_text("Der Zahlungslauf ist angeordnet.")).to_be_visible()
    assert_accessible(page)


def test_the_waiting_list_the_owners_notice_and_a_carry_over_proposal(login, people, programme, musterstadt):
    from decimal import Decimal

    from django.utils import timezone

    from tests.factories import AllocationFactory, ApplicantFactory, advance, make_application

    AllocationFactory(programme=programme, amount=Decimal("10000.00"))
    last_year = AllocationFactory(programme=programme, year=timezone.localdate().year - 1)
    first, second = (
        advance(make_application(programme=programme, applicant=ApplicantFactory()), "checked", people)
        for _ in range(2)
    )
    page = login(people.approver)
    page.get_by_role("link", name="Warteliste", exact=True).click()
    expect(page.get_by_role("row", name=first.file_number)).to_contain_text("finanzierbar")
    expect(page.get_by_role("row", name=second.file_number)).to_contain_text("wartet auf Mittel")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone too
    expect(page.get_by_role("row", name=second.file_number)).to_contain_text("wartet auf Mittel")
    assert_accessible(page)

    page = login(second.applicant.user, next=f"/meine-antraege/{second.pk}/")
    expect(page.get_by_text("Platz 2 der Warteliste")).to_be_visible()
    assert_accessible(page)

    page = login(people.finance)
    page.goto(f"/arbeitsplatz/haushalt/{last_year.pk}/")
    page.get_by_label("Begründung (für die Akte)").fill("Jahresabschluss")
    page.get_by_role("button", name="Übertrag vorschlagen").click()
    expect(page.get_by_text("Der Übertrag ist vorgeschlagen; eine zweite Person bestätigt ihn.")).to_be_visible()
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("button", name=re.compile("Übertrag bestätigen und buchen"))).to_be_visible()
    assert_accessible(page)


def test_a_caseworker_cuts_a_grant_to_the_de_minimis_ceiling_and_reads_the_register(login, people, programme):
    from decimal import Decimal

    from django.utils import timezone

    from grants.deminimis import AidInput, declaration_save
    from tests.factories import AllocationFactory, advance, make_application

    AllocationFactory(programme=programme)
    programme.deminimis_regulation = "general"
    programme.save()
    application = make_application(programme=programme, applicant=people.alice)
    declaration_save(
        application_id=application.pk, by=people.owner, none_received=False,
        aids=[AidInput(timezone.localdate().replace(day=1), "Land NRW", Decimal("295000.00"))],
    )  # fmt: skip
    advance(application, "submitted", people)
    page = login(people.caseworker)
    page.goto(f"/arbeitsplatz/antraege/{application.pk}/")
    expect(page.get_by_text("überschreitet den Höchstbetrag")).to_be_visible()
    assert_accessible(page)  # the case page with the de-minimis position and the reduction form
    page.get_by_label("Begründung der Kürzung").fill("Höchstbetrag nach Art. 3 Abs. 2 VO (EU) 2023/2831.")
    page.get_by_role("button", name="Auf den De-minimis-Restbetrag kürzen").click()
    expect(page.get_by_text("auf 5.000,00 €: Höchstbetrag")).to_be_visible()
    assert_accessible(page)
    page.goto("/arbeitsplatz/de-minimis/")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page)
