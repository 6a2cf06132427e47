"""Password rules for everyone: at least 12 characters, not a common password, not only digits, not the name."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from applicants.models import User

pytestmark = pytest.mark.django_db


def sign_up(client, password):
    return client.post(reverse("signup"), {"email": "neu@example.org", "password1": password, "password2": password})


def test_the_registration_page_states_the_rules_in_german(client):
    html = client.get(reverse("signup")).content.decode()
    assert "Das Passwort muss mindestens 12 Zeichen enthalten." in html
    assert "Das Passwort darf nicht allgemein üblich sein." in html


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Fassade2026", "Dieses Passwort ist zu kurz. Es muss mindestens 12 Zeichen enthalten."),
        ("ichliebedich", "Dieses Passwort ist zu üblich."),
        ("202620262026", "Dieses Passwort ist komplett numerisch."),
    ],
)
def test_a_weak_password_is_refused_at_registration_with_a_german_message(client, password, message):
    response = sign_up(client, password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email="neu@example.org").exists()


def test_a_twelve_character_password_is_accepted(client):
    assert sign_up(client, "Fassade-2026").status_code == 302
    assert User.objects.filter(email="neu@example.org").exists()


def test_staff_passwords_follow_the_same_rules(people):
    with pytest.raises(ValidationError) as refused:
        validate_password("Kasse-2026", user=people.finance)
    assert "mindestens 12 Zeichen" in " ".join(refused.value.messages)
