import re
from base64 import b32decode

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from applicants.models import User
from budgets.models import Allocation, LedgerEntry
from grants.models import GrantApplication, Inspection, Invoice, PartialPayment
from tests.second_factor import current_code

pytestmark = pytest.mark.django_db


def test_the_home_page_speaks_german_and_lists_open_programmes(client, programme):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Fassadenprogramm Altstadt" in html and "Fördersatz" in html
    assert "15.000,00 €" in html


def test_english_is_available_through_the_language_switch(client, programme):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert '<html lang="en">' in response.content.decode()


def test_the_demo_data_has_every_state_and_a_login_per_role(capsys):
    call_command("load_demo_data", force=True)
    out = capsys.readouterr().out
    for username in ("eigentuemerin", "sachbearbeitung", "bewilligung", "kasse", "pruefung"):
        assert username in out
        assert User.objects.get(username=username).check_password(f"demo-{username}")
    states = set(GrantApplication.objects.values_list("state", flat=True))
    assert {"draft", "submitted", "checked", "approved", "paid", "documented", "rejected"} <= states
    assert LedgerEntry.objects.filter(kind="payment").exists()
    # The life after approval: a partial payment on a certified invoice, and a change request waiting for its check.
    assert PartialPayment.objects.count() == 1 and Invoice.objects.filter(certified_at__isnull=False).count() == 1
    assert GrantApplication.objects.filter(open_change__isnull=False).count() == 1
    # And in the commitment period: every paid case has its end, one was inspected, one is in its hearing.
    assert not GrantApplication.objects.filter(paid_at__isnull=False, commitment_until__isnull=True).exists()
    assert Inspection.objects.count() == 1
    assert GrantApplication.objects.filter(open_revocation__isnull=False).count() == 1

    call_command("load_demo_data", force=True)  # a second run changes nothing
    assert GrantApplication.objects.count() == 10
    # The demo's allocations are in exact thirds and fifths, and its ledger's kept totals reconcile.
    facade = Allocation.objects.filter(programme__code="FP").first()
    assert facade is not None and [str(f) for f in facade.shares.values()] == ["1/3", "1/3", "1/3", "0"]
    capsys.readouterr()
    call_command("ledger_reconcile")
    assert "Keine Abweichungen" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)  # the e-mails go out when each step commits
def test_the_demo_sends_its_mail_to_files_and_prints_the_logins_last(settings, tmp_path, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # the development default
    settings.EMAIL_FILE_PATH = str(tmp_path / "sent-emails")
    call_command("load_demo_data", force=True)
    out = capsys.readouterr().out
    assert "Content-Type" not in out and "base64" not in out
    mails = "".join(p.read_text(errors="replace") for p in (tmp_path / "sent-emails").iterdir())
    assert "Content-Type: application/pdf" in mails
    assert out.index(str(tmp_path / "sent-emails")) < out.index("eigentuemerin") < out.index("Geheimnis:")
    assert len(out.splitlines()) < 25


def test_the_demo_prints_the_second_factor_and_its_staff_log_in_with_it(client, capsys):
    call_command("load_demo_data", force=True)
    out = capsys.readouterr().out
    secret = re.search(r"Geheimnis: ([A-Z2-7 ]+)\n", out).group(1).replace(" ", "")
    uri = re.search(r"(otpauth://totp/\S+)", out).group(1)
    assert f"secret={secret}" in uri and "issuer=F%C3%B6rderdesk" in uri
    devices = TOTPDevice.objects.filter(confirmed=True)
    assert sorted(devices.values_list("user__username", flat=True)) == [
        "admin", "bewilligung", "kasse", "pruefung", "sachbearbeitung"
    ]  # fmt: skip

    # What a tester's authenticator app shows for the printed secret is accepted at the login.
    code = current_code(TOTPDevice(key=b32decode(secret).hex()))
    client.post(reverse("login"), {"login": "sachbearbeitung", "password": "demo-sachbearbeitung"})
    response = client.post("/konto/zweiter-faktor/", {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("workspace:start")
    assert client.get(reverse("workspace:start")).status_code == 200


def test_the_admin_shows_the_ledger_but_offers_no_way_to_change_it(admin_client):
    call_command("load_demo_data", force=True)
    entry = LedgerEntry.objects.first()
    changelist = admin_client.get(reverse("admin:budgets_ledgerentry_changelist"))
    assert changelist.status_code == 200
    assert admin_client.get(reverse("admin:budgets_ledgerentry_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:budgets_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "name",
    [
        "admin:grants_grantapplication_changelist",
        "admin:grants_programme_changelist",
        "admin:budgets_allocation_changelist",
        "admin:applicants_applicant_changelist",
        "admin:applicants_consultation_changelist",
    ],
)
def test_every_admin_list_opens(admin_client, name):
    call_command("load_demo_data", force=True)
    assert admin_client.get(reverse(name)).status_code == 200
