"""The second factor (issue 9): staff confirm each login with a TOTP code, owners are never asked.

These tests log in through the real login form (never ``force_login``, which tests.second_factor
makes pass the second factor), so they fail when the rule is gone.
"""

import re
from base64 import b32decode
from html import unescape

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory
from tests.second_factor import authenticator_app, current_code

pytestmark = pytest.mark.django_db
PASSWORD = "geheim-genug-123"  # tests.factories.UserFactory
CODE_PAGE = "/konto/zweiter-faktor/"
SETUP_PAGE = "/konto/zweiter-faktor/einrichten/"


def log_in(client, user, next=""):
    """The password step of the login form, as a person submits it."""
    response = client.post(
        reverse("login") + (f"?next={next}" if next else ""), {"login": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def code_for(user) -> str:
    return current_code(TOTPDevice.objects.get(user=user, confirmed=True))


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_an_owner_is_never_asked_for_a_code(client, people):
    response = log_in(client, people.owner)
    assert response["Location"] == reverse("portal:applications")
    assert client.get(reverse("portal:applications")).status_code == 200
    assert client.get(reverse("home")).status_code == 200
    # The code page has nothing to ask an owner and sends them on.
    assert client.get(CODE_PAGE).status_code == 302
    assert not TOTPDevice.objects.filter(user=people.owner).exists()


@pytest.mark.parametrize("persona", ["caseworker", "approver", "finance", "auditor"])
def test_staff_after_the_password_are_sent_to_the_code_page_from_every_staff_page(client, people, persona):
    user = getattr(people, persona)
    authenticator_app(user)
    log_in(client, user)

    for page in ["/arbeitsplatz/", "/arbeitsplatz/antraege/?state=submitted", "/admin/", "/schreiben/1/"]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(CODE_PAGE + "?next="), page
    assert client.get(response["Location"]).status_code == 200
    page = client.get(f"{CODE_PAGE}?next=/arbeitsplatz/antraege/").content.decode()
    assert "Anmeldung bestätigen" in page and 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page


def test_the_administrator_needs_the_code_for_the_admin(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    authenticator_app(admin)
    # Not logged in: the admin sends visitors to the site's login, which then asks for the code.
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next=/admin/")

    log_in(client, admin, next="/admin/")
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == f"{CODE_PAGE}?next=/admin/"

    response = client.post(CODE_PAGE, {"code": code_for(admin), "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_in_german_and_the_right_one_lets_staff_in(client, people):
    device = authenticator_app(people.caseworker)
    log_in(client, people.caseworker, next="/arbeitsplatz/antraege/")

    right = current_code(device)
    response = client.post(CODE_PAGE, {"code": another_code(right), "next": "/arbeitsplatz/antraege/"})
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert "Bitte prüfen Sie Ihre Angaben" in html  # the error summary, focused like on every form
    assert "Der Code stimmt nicht oder ist abgelaufen." in html
    assert 'aria-invalid="true"' in html
    assert client.get("/arbeitsplatz/").status_code == 302  # still not in

    # A wrong code makes the app wait a moment before it checks the next one (django-otp's throttle).
    response = client.post(CODE_PAGE, {"code": right, "next": "/arbeitsplatz/antraege/"})
    assert response.status_code == 400 and "Zu viele falsche Codes" in unescape(response.content.decode())

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)  # as after the wait
    response = client.post(CODE_PAGE, {"code": right, "next": "/arbeitsplatz/antraege/"})
    assert response.status_code == 302 and response["Location"] == "/arbeitsplatz/antraege/"
    assert client.get("/arbeitsplatz/antraege/").status_code == 200


def test_bad_input_and_a_used_code_are_refused(client, people):
    device = authenticator_app(people.approver)
    code = current_code(device)
    log_in(client, people.approver)
    for typed, message in [("", "Bitte geben Sie den Code"), ("12ab56", "sechs Ziffern"), ("1234567", "sechs Ziffern")]:
        response = client.post(CODE_PAGE, {"code": typed})
        assert response.status_code == 400 and message in unescape(response.content.decode()), typed
    # "123 456" as an app shows it counts like "123456".
    response = client.post(CODE_PAGE, {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302 and response["Location"] == reverse("workspace:start")

    other = client.__class__()
    log_in(other, people.approver)
    response = other.post(CODE_PAGE, {"code": code})  # seen once, never again
    assert response.status_code == 400 and other.get("/arbeitsplatz/").status_code == 302


def test_only_pages_of_this_site_are_taken_as_next(client, people):
    authenticator_app(people.finance)
    log_in(client, people.finance)
    response = client.post(CODE_PAGE, {"code": code_for(people.finance), "next": "https://elsewhere.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("workspace:start")


def test_staff_without_an_app_set_it_up_and_are_logged_in(client, people):
    user = people.auditor
    log_in(client, user, next="/arbeitsplatz/haushalt/")
    response = client.get("/arbeitsplatz/haushalt/")
    assert response["Location"] == f"{CODE_PAGE}?next=/arbeitsplatz/haushalt/"
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith(SETUP_PAGE)

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "Zweiten Faktor einrichten" in html
    assert "<svg" in html and 'role="img"' in html and "<title" in html  # the QR code, drawn on the server
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<script" not in main and "style=" not in main
    secret = re.search(r'<code class="fd-secret">([A-Z2-7 ]+)</code>', html).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)  # 32 characters in groups of four
    uri = unescape(re.search(r'href="(otpauth://totp/[^"]+)"', html).group(1))
    assert f"secret={secret.replace(' ', '')}" in uri and "issuer=F%C3%B6rderdesk" in uri
    # Reloading shows the same secret: an app scanned a moment ago keeps working.
    assert secret in client.get(f"{SETUP_PAGE}?next=/arbeitsplatz/haushalt/").content.decode()

    # The app (here: the code computed from the secret on the page) confirms the set-up.
    app = TOTPDevice(key=b32decode(secret.replace(" ", "")).hex())
    code = current_code(app)
    response = client.post(SETUP_PAGE, {"code": another_code(code), "next": "/arbeitsplatz/haushalt/"})
    assert response.status_code == 400 and "Der Code stimmt nicht" in unescape(response.content.decode())
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    TOTPDevice.objects.filter(user=user).update(throttling_failure_timestamp=None)  # as after the wait
    response = client.post(SETUP_PAGE, {"code": code, "next": "/arbeitsplatz/haushalt/"})
    assert response.status_code == 302 and response["Location"] == "/arbeitsplatz/haushalt/"
    assert client.get("/arbeitsplatz/haushalt/").status_code == 200
    assert TOTPDevice.objects.get(user=user).confirmed

    # From now on the login asks for the code; the set-up page is closed to a password-only session.
    client.logout()
    log_in(client, user)
    assert client.get(SETUP_PAGE).status_code == 302
    assert client.get(SETUP_PAGE)["Location"].startswith(CODE_PAGE)
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_the_api_refuses_an_unverified_staff_session(client, people):
    authenticator_app(people.caseworker)
    log_in(client, people.caseworker)
    response = client.get("/api/applications/")
    assert response.status_code == 403
    assert "zweiter Faktor" in response.json()["detail"]

    client.post(CODE_PAGE, {"code": code_for(people.caseworker)})
    assert client.get("/api/applications/").status_code == 200


def test_owners_use_the_api_by_session_without_a_code(client, people):
    log_in(client, people.owner)
    assert client.get("/api/applications/").status_code == 200


def test_staff_get_a_token_only_with_the_code(client, people):
    device = authenticator_app(people.approver)
    credentials = {"username": "anton", "password": PASSWORD}

    response = client.post("/api/auth/token/", credentials, content_type="application/json")
    assert response.status_code == 400
    assert "Code aus ihrer Authenticator-App" in response.json()["detail"] and "otp" in response.json()["fields"]

    right = current_code(device)
    response = client.post(
        "/api/auth/token/", {**credentials, "otp": another_code(right)}, content_type="application/json"
    )
    assert response.status_code == 400 and "Der Code stimmt nicht" in response.json()["detail"]
    assert not Token.objects.filter(user=people.approver).exists()

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)  # as after the wait
    response = client.post("/api/auth/token/", {**credentials, "otp": right}, content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    # The token is the credential issued after the second factor: it works without a code.
    response = client.get("/api/applications/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200


def test_staff_without_an_app_get_no_token(client, people):
    credentials = {"username": "fiona", "password": PASSWORD, "otp": "123456"}
    response = client.post("/api/auth/token/", credentials, content_type="application/json")
    assert response.status_code == 400 and "noch keine Authenticator-App eingerichtet" in response.json()["detail"]


def test_owners_get_a_token_without_a_code(client, people):
    response = client.post(
        "/api/auth/token/", {"username": "alice", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["token"]


def test_the_schema_documents_the_code_for_the_token(client):
    schema = client.get("/api/schema/?format=json").json()
    request = schema["components"]["schemas"]["ApiTokenRequest"]
    assert "otp" in request["properties"] and "otp" not in request.get("required", [])
    assert "Authenticator-App" in request["properties"]["otp"]["description"]
    assert "otp" in schema["paths"]["/api/auth/token/"]["post"]["description"]


def test_an_owner_token_stops_working_when_the_account_becomes_staff(people, musterstadt):
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from core.models import Municipality

    token = Token.objects.create(user=people.other_owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/applications/").status_code == 200

    Municipality.objects.get(pk=musterstadt.pk).staff.add(people.other_owner)
    Group.objects.get_or_create(name="caseworker")[0].user_set.add(people.other_owner)  # the town's side of it
    assert not Token.objects.filter(user=people.other_owner).exists()
    assert api.get("/api/applications/").status_code == 401  # a new token needs the code

    token = Token.objects.create(user=people.owner)
    people.owner.is_staff = True
    people.owner.save()
    assert not Token.objects.filter(pk=token.pk).exists()


def test_a_towns_admin_cannot_make_themselves_superuser(client, people):
    from django.contrib.auth.models import Permission

    keeper = people.caseworker
    keeper.is_staff = True
    keeper.save()
    keeper.user_permissions.set(Permission.objects.filter(codename__in=["change_user", "view_user"]))
    client.force_login(keeper)
    page = client.get(f"/admin/applicants/user/{keeper.pk}/change/")
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode() and 'name="user_permissions"' not in page.content.decode()
