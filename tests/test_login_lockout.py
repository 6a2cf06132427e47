"""Login throttling (django-axes): five wrong passwords lock that login name from that address for a while.

It holds alike for the login page (staff and owners), the admin's login and the API's token endpoint; the
answer is 429 with a German message, on the API in its JSON error format. Other people are not affected.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from core.security import client_ip
from tests.browser import PASSWORD
from tests.second_factor import fresh_code

pytestmark = pytest.mark.django_db
LOCKED = "Zu viele fehlgeschlagene Anmeldeversuche"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts logins per address in the cache, which outlives a test; axes counts in the database."""
    cache.clear()


def log_in(client, login, password, **extra):
    return client.post(reverse("login"), {"login": login, "password": password}, **extra)


def test_five_wrong_passwords_lock_the_staff_login_and_the_right_one_is_refused(client, people):
    for _ in range(4):
        response = log_in(client, "carla", "falsch-geraten-1")
        assert response.status_code == 200 and "Passwort sind leider falsch" in response.content.decode()
    response = log_in(client, "carla", "falsch-geraten-1")
    assert response.status_code == 429 and LOCKED in response.content.decode()

    response = log_in(client, "carla", PASSWORD)
    html = response.content.decode()
    assert response.status_code == 429
    assert LOCKED in html and "30 Minuten" in html and 'lang="de"' in html
    assert int(response["Retry-After"]) == 30 * 60
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("workspace:start")).status_code == 302  # still anonymous


def test_another_user_and_another_address_are_not_affected(client, people):
    for _ in range(5):
        log_in(client, "carla", "falsch-geraten-1")
    assert log_in(client, "carla", PASSWORD).status_code == 429

    response = log_in(client, "anton", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("workspace:start")

    response = log_in(Client(), "carla", PASSWORD, REMOTE_ADDR="192.0.2.77")
    assert response.status_code == 302


def test_an_owner_logging_in_by_e_mail_is_locked_whatever_the_case_of_the_address(client, people):
    email = people.owner.email
    for attempt in range(5):
        log_in(client, email.upper() if attempt % 2 else email, "falsch-geraten-1")
    response = log_in(client, email, PASSWORD)
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_the_lock_lifts_after_the_cool_off(client, people):
    for _ in range(5):
        log_in(client, "carla", "falsch-geraten-1")
    assert log_in(client, "carla", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31))
    response = log_in(client, "carla", PASSWORD)
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()  # a successful login forgets the failures


def test_the_admin_has_no_password_form_of_its_own_that_could_dodge_the_lock(client, people):
    """The admin sends to the site's login (password, then the second factor), which counts and locks."""
    response = client.post(reverse("admin:login"), {"username": "carla", "password": "falsch-geraten-1"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    url = reverse("login")
    for _ in range(5):
        response = client.post(url, {"login": "carla", "password": "falsch-geraten-1"})
    response = client.post(url, {"login": "carla", "password": PASSWORD})
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_the_token_endpoint_locks_with_a_json_429_and_others_still_get_their_token(people):
    api = APIClient()
    url = reverse("api-token")
    for _ in range(4):
        response = api.post(url, {"username": "carla", "password": "falsch-geraten-1"}, format="json")
        assert response.status_code == 400
    response = api.post(url, {"username": "carla", "password": "falsch-geraten-1"}, format="json")
    assert response.status_code == 429

    response = api.post(url, {"username": "carla", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"].startswith(LOCKED) and "30 Minuten" in body["detail"]
    assert body["reasons"] == [body["detail"]]
    assert "token" not in body
    assert int(response["Retry-After"]) == 30 * 60

    code = fresh_code(people.approver)  # staff send the second factor with the password
    response = api.post(url, {"username": "anton", "password": PASSWORD, "otp": code}, format="json")
    assert response.status_code == 200 and response.json()["token"]


def test_behind_a_proxy_the_address_the_proxy_saw_counts_not_what_the_client_claims(settings):
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4")
    assert client_ip(request) == "10.0.0.1"  # no trusted proxy: the direct peer
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.4"  # the one nginx appended; 203.0.113.9 came from the client
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.9"
