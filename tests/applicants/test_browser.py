"""The second factor in a real headless Chromium, with axe-core on its pages.

A caseworker without an app sets one up by keyboard alone (the key read off the page, as a
person types it into their app), is refused a wrong code, and at the next login types the code.
"""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser import PASSWORD, assert_accessible
from tests.second_factor import current_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_caseworker_sets_up_the_app_and_confirms_the_next_login(login, people, allocation):
    user = people.caseworker
    page = login.new_page()
    page.goto("/konto/anmelden/?next=/arbeitsplatz/haushalt/")
    page.get_by_label("Benutzername").fill(user.username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/konto/zweiter-faktor/einrichten/?next=**")
    expect(page.get_by_role("heading", name="Zweiten Faktor einrichten")).to_be_visible()
    expect(page.get_by_role("img", name="QR-Code zum Einrichten der Authenticator-App")).to_be_visible()
    assert_accessible(page)

    secret = page.locator(".fd-secret").inner_text().replace(" ", "")
    app = TOTPDevice(key=b32decode(secret).hex())
    field = page.get_by_label("Sechsstelliger Code")
    assert field.get_attribute("autocomplete") == "one-time-code" and field.get_attribute("inputmode") == "numeric"
    field.fill("000000" if current_code(app) != "000000" else "111111")
    field.press("Enter")
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.get_by_text("Der Code stimmt nicht oder ist abgelaufen.").first).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "fehler"  # the summary is read out first
    assert_accessible(page)

    TOTPDevice.objects.filter(user=user).update(throttling_failure_timestamp=None)  # as after the wait
    page.get_by_label("Sechsstelliger Code").fill(current_code(app))
    page.get_by_role("button", name="Einrichten und anmelden").click()
    page.wait_for_url("**/arbeitsplatz/haushalt/")
    expect(page.get_by_text("Die Authenticator-App ist eingerichtet.")).to_be_visible()

    # The next login asks for the code only.
    page.get_by_role("button", name="Abmelden").click()
    page.goto("/konto/anmelden/?next=/arbeitsplatz/")
    page.get_by_label("Benutzername").fill(user.username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/konto/zweiter-faktor/?next=**")
    expect(page.get_by_role("heading", name="Anmeldung bestätigen")).to_be_visible()
    assert_accessible(page)
    TOTPDevice.objects.filter(user=user).update(last_t=-1)  # as after waiting for the app's next code
    page.get_by_label("Sechsstelliger Code").fill(current_code(app))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url("**/arbeitsplatz/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
