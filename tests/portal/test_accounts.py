"""Registering with e-mail and password, confirming the address, logging in and out, resetting the password."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from applicants.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "Fassade-streichen-2026"


def register(client, email="neu@example.org"):
    return client.post(reverse("signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def test_an_owner_registers_confirms_the_address_and_is_logged_in(client):
    response = register(client)
    assert response.status_code == 302
    user = User.objects.get(email="neu@example.org")
    assert user.has_role("applicant") and not user.is_municipal_staff
    (message,) = mail.outbox
    assert message.to == ["neu@example.org"]
    assert message.subject == "Förderdesk: Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert "Guten Tag" in message.body

    page = client.get(link_in(message))
    assert "Bitte bestätigen Sie, dass neu@example.org Ihre E-Mail-Adresse ist." in page.content.decode()
    response = client.post(link_in(message))
    assert response["Location"] == reverse("portal:applications")
    assert client.get(reverse("portal:applications")).status_code == 200


def test_without_confirmation_there_is_no_login(client):
    register(client)
    client.logout()
    response = client.post(reverse("login"), {"login": "neu@example.org", "password": PASSWORD}, follow=True)
    assert "Bitte bestätigen Sie Ihre E-Mail-Adresse" in response.content.decode()
    assert client.get(reverse("portal:applications")).status_code == 302  # still anonymous


def test_a_registered_address_cannot_register_twice(client, people):
    response = register(client, email=people.owner.email)
    assert User.objects.filter(email__iexact=people.owner.email).count() == 1
    assert response.status_code in (200, 302)


def test_a_weak_password_is_refused_with_a_linked_error_summary(client):
    response = client.post(reverse("signup"), {"email": "x@example.org", "password1": "12345", "password2": "12345"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="fehler"' in html and 'href="#id_password1"' in html
    assert not User.objects.filter(email="x@example.org").exists()


def test_staff_made_by_the_municipality_log_in_with_their_user_name(client, people):
    response = client.post(reverse("login"), {"login": "carla", "password": "geheim-genug-123"})
    assert response["Location"] == reverse("workspace:start")


def test_an_owner_resets_the_password_through_the_mailed_link(client, people):
    client.post(reverse("account_reset_password"), {"email": people.owner.email})
    (message,) = mail.outbox
    assert message.subject == "Förderdesk: Passwort zurücksetzen"
    form = client.get(link_in(message), follow=True)
    action = form.request["PATH_INFO"]
    response = client.post(action, {"password1": "Ganz-neues-Passwort-1", "password2": "Ganz-neues-Passwort-1"})
    assert response.status_code == 302
    people.owner.refresh_from_db()
    assert people.owner.check_password("Ganz-neues-Passwort-1")


def test_logging_out_is_a_post(client, people):
    client.force_login(people.owner)
    client.post(reverse("logout"))
    assert client.get(reverse("portal:applications")).status_code == 302


def test_german_unless_english_is_chosen_with_the_switch(client, programme):
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in html and "15.000,00 €" in html
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="en">' in response.content.decode() and response["Content-Language"] == "en"


def test_the_portal_speaks_english_when_chosen(client, programme):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("home"), {"street": "Hauptstraße", "house_number": "12"}).content.decode()
    assert "Funding programmes" in html and "Is my address in the funding area?" in html
    assert "15,000.00 €" in html and "is in the funding area of" in html
