"""The second factor in tests: a confirmed authenticator app for a user, and the code it shows now.

Registered as a pytest plugin in tests/conftest.py. Its autouse fixture makes ``Client.force_login``
behave like a full staff login (password and code): staff get a confirmed TOTP device and a session
that django-otp counts as verified. Production code is untouched; the tests of the rule itself
(tests/applicants/test_second_factor.py) log in through the real forms and never use force_login.
"""

from __future__ import annotations

import time

import pytest
from django.test.client import ClientMixin
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from applicants.rules import needs_second_factor


def authenticator_app(user, *, confirmed: bool = True) -> TOTPDevice:
    """The user's (confirmed) TOTP device, made on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Test-App", confirmed=confirmed)


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The six digits the app shows now (or at the Unix time ``at``), computed from the device's own key."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def fresh_code(user) -> str:
    """A code the user's app shows now, as after waiting for the next one: each code counts only once,
    and a test may log the same person in twice within 30 seconds."""
    device = authenticator_app(user)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    return current_code(device)


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch):
    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if needs_second_factor(user):
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = authenticator_app(user).persistent_id
            session.save()

    monkeypatch.setattr(ClientMixin, "force_login", force_login)
