"""The workspace in a real headless Chromium (Debian's), with axe-core on every page it visits.

Caseworker checks, approver approves (and is refused on a case they checked), caseworker
certifies the final invoices and finance pays.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from grants.services import application_check
from tests.factories import UserFactory, add_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
# Without these flags Chromium stalls reaching for the network this machine does not have.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "geheim-genug-123"  # tests.factories.UserFactory


@pytest.fixture(scope="module")
def browser():
    """Chromium for this module; meanwhile Playwright's event loop runs in the test thread."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: make install-test installs it (apt-get install chromium)"
    assert AXE.exists(), "axe-core is missing: make install runs npm ci"
    # Django refuses database calls from a thread with a running event loop; the live server and the
    # sync API share that thread, so it is allowed here, and only for as long as the browser runs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def login(browser, live_server):
    """A fresh browser page logged in as ``user`` through the login form."""
    contexts = []

    def log_in(user):
        context = browser.new_context(base_url=live_server.url, locale="de-DE")
        contexts.append(context)
        page = context.new_page()
        page.goto("/konto/anmelden/?next=/arbeitsplatz/")
        page.get_by_label("Benutzername").fill(user.username)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url("**/arbeitsplatz/")
        return page

    yield log_in
    for context in contexts:
        context.close()


def assert_accessible(page):
    """No WCAG 2.1 A/AA violation that axe-core can find on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run({runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    violations = [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]
    ]
    assert violations == [], f"{page.url}: {json.dumps(violations, ensure_ascii=False, indent=1)}"


def test_a_caseworker_checks_an_application(login, people, case, allocation):
    application = case("submitted")
    page = login(people.caseworker)
    assert page.locator("html").get_attribute("lang") == "de"
    assert_accessible(page)  # start page with queue, counts, budget

    page.get_by_role("link", name="Anträge", exact=True).click()
    page.get_by_role("textbox", name="Suche").fill(application.file_number)
    page.get_by_role("button", name="Anwenden").click()
    assert page.get_by_text("1 Antrag gefunden").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name=application.file_number).click()
    assert page.get_by_role("heading", name="Vollständigkeitsprüfung").is_visible()
    assert_accessible(page)
    page.locator("#comment-check").fill("Unterlagen vollständig, Fördergebiet geprüft.")
    page.get_by_role("button", name="Als geprüft bestätigen").click()
    assert page.get_by_text("Erledigt: Als geprüft bestätigen.").is_visible()
    assert page.get_by_text("Unterlagen vollständig, Fördergebiet geprüft.").is_visible()
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
    assert page.get_by_text("Erledigt: Bewilligen.").is_visible()
    assert_accessible(page)
    application.refresh_from_db()
    assert application.state == "approved" and application.approved_by == people.approver

    both = UserFactory(roles=["caseworker", "approver"], municipalities=[musterstadt], first_name="Anke")
    own = case("submitted")
    application_check(application_id=own.pk, by=both)
    page = login(both)
    page.goto(f"/arbeitsplatz/antraege/{own.pk}/")
    assert page.get_by_role("button", name="Bewilligen").count() == 0
    assert page.get_by_text("die Bewilligung muss eine andere Person aussprechen").first.is_visible()
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
    assert page.get_by_text("Die Schlussrechnung ist als sachlich richtig bestätigt.").is_visible()
    assert page.get_by_role("button", name="Auszahlung freigeben").count() == 0  # four-eyes: not for the certifier

    page = login(people.finance)
    assert page.get_by_role("link", name=application.file_number).is_visible()  # waits in finance's queue
    page.get_by_role("link", name=application.file_number).click()
    assert_accessible(page)
    page.get_by_role("button", name="Auszahlung freigeben").click()
    assert page.get_by_text("Erledigt: Auszahlung freigeben.").is_visible()
    assert_accessible(page)
    application.refresh_from_db()
    assert application.state == "paid" and str(application.paid_amount) == "7200.00"
