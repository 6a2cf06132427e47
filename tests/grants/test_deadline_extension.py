"""Fristverlängerung: the owner asks for later deadlines, the caseworker grants or refuses them with a notice.

Through the services, the portal, the workspace and the API: who may, in which state, what a refusal leaves
unchanged, the letters, the e-mails and the reminders that follow the new dates.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.errors import DomainError
from grants import notifications, services
from grants.models import DeadlineExtension, GrantApplication, LetterKind, OutboundEmail

State = GrantApplication.State
pytestmark = pytest.mark.django_db


def later(application, *, months=3):
    return {
        "completion_deadline": application.completion_deadline + relativedelta(months=months),
        "invoice_deadline": application.invoice_deadline + relativedelta(months=months),
    }


def ask(application, people, *, reason="Der Gerüstbauer kann erst im Frühjahr.", **dates):
    return services.extension_request(
        application_id=application.pk, by=people.owner, reason=reason, **(dates or later(application))
    )


def frozen(application) -> dict:
    """What a refused step must leave as it was."""
    return {
        "application": GrantApplication.objects.filter(pk=application.pk).values().get(),
        "extensions": list(DeadlineExtension.objects.values()),
        "history": StateLog.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def text_of(letter) -> str:
    with letter.file.open("rb") as handle:
        return " ".join(page.extract_text() for page in PdfReader(handle).pages)


def test_a_granted_extension_moves_both_deadlines_and_the_notice_names_old_and_new(
    case, people, django_capture_on_commit_callbacks
):
    application = case("approved")
    before = (application.completion_deadline, application.invoice_deadline)
    wanted = later(application)
    extension = ask(application, people)
    application.refresh_from_db()
    assert application.extension_requested_at == extension.requested_at
    assert (application.completion_deadline, application.invoice_deadline) == before  # nothing moves yet
    assert StateLog.objects.for_(application).latest("pk").transition == "request_extension"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.extension_grant(application_id=application.pk, by=people.caseworker, comment="Nachvollziehbar.")

    application.refresh_from_db()
    assert application.state == State.APPROVED and application.extension_requested_at is None
    assert (application.completion_deadline, application.invoice_deadline) == (
        wanted["completion_deadline"],
        wanted["invoice_deadline"],
    )
    extension.refresh_from_db()
    assert (extension.outcome, extension.decided_by) == (DeadlineExtension.Outcome.GRANTED, people.caseworker)
    assert (extension.completion_deadline_before, extension.invoice_deadline_before) == before
    letter = application.letters.get(kind=LetterKind.EXTENSION)
    text = text_of(letter)
    assert f"bis zum {wanted['completion_deadline']:%d.%m.%Y}" in text
    assert f"bisher {before[0]:%d.%m.%Y}" in text
    assert "Widerspruch" in text  # a notice: with its legal remedy
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.endswith("Fristverlängerung bewilligt")
    assert mail.outbox[0].attachments


def test_a_refused_extension_needs_reasons_and_leaves_the_deadlines(case, people, django_capture_on_commit_callbacks):
    application = case("approved")
    before = (application.completion_deadline, application.invoice_deadline)
    ask(application, people)

    with pytest.raises(DomainError) as refusal:
        services.extension_refuse(application_id=application.pk, by=people.caseworker, comment="  ")
    assert refusal.value.reasons == ["Bitte begründen Sie die Ablehnung der Fristverlängerung."]
    assert DeadlineExtension.objects.get().outcome == DeadlineExtension.Outcome.OPEN

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.extension_refuse(
            application_id=application.pk, by=people.caseworker, comment="Der Zuwendungszweck ist gefährdet."
        )
    application.refresh_from_db()
    assert (application.completion_deadline, application.invoice_deadline) == before
    assert application.extension_requested_at is None
    assert DeadlineExtension.objects.get().outcome == DeadlineExtension.Outcome.REFUSED
    text = text_of(application.letters.get(kind=LetterKind.EXTENSION_REFUSAL))
    assert "Der Zuwendungszweck ist gefährdet." in text and f"bis zum {before[0]:%d.%m.%Y}" in text
    assert mail.outbox[0].subject.endswith("Fristverlängerung abgelehnt")
    # Decided: the owner may ask again.
    ask(application, people, **later(application, months=1))
    assert DeadlineExtension.objects.filter(outcome=DeadlineExtension.Outcome.OPEN).count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"completion_deadline": -1}, "Eine Verlängerung kann eine Frist nicht verkürzen."),
        ({}, "Bitte geben Sie mindestens eine spätere Frist an."),
        (
            {"completion_deadline": 400},
            "Die Schlussrechnungen können erst nach dem Abschluss der Maßnahme fällig sein.",
        ),
        ({"completion_deadline": 6 * 366, "invoice_deadline": 6 * 366}, "Eine Frist kann höchstens um 5 Jahre"),
    ],
    ids=["shorter", "the same", "invoices before completion", "too far"],
)
def test_dates_that_are_no_extension_are_refused_with_words_and_nothing_is_written(case, people, change, message):
    application = case("approved")
    dates = {
        "completion_deadline": application.completion_deadline + timedelta(days=change.get("completion_deadline", 0)),
        "invoice_deadline": application.invoice_deadline + timedelta(days=change.get("invoice_deadline", 0)),
    }
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        ask(application, people, **dates)
    assert refusal.value.status == 409  # they follow from the deadlines the case has now
    assert any(reason.startswith(message) for reason in refusal.value.reasons), refusal.value.reasons
    assert frozen(application) == before


def test_without_reasons_nothing_is_asked(case, people):
    application = case("approved")
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        ask(application, people, reason=" ")
    assert refusal.value.status == 400 and refusal.value.reasons == [
        "Bitte begründen Sie, warum Sie mehr Zeit brauchen."
    ]
    assert frozen(application) == before


@pytest.mark.parametrize("state", ["submitted", "checked", "paid"])
def test_only_an_approved_case_has_deadlines_to_extend(case, people, state):
    application = case(state)
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.extension_request(
            application_id=application.pk,
            by=people.owner,
            reason="Mehr Zeit",
            completion_deadline=date(2040, 1, 1),
            invoice_deadline=date(2040, 6, 1),
        )
    assert refusal.value.status == 409
    assert frozen(application) == before


def test_one_open_request_at_a_time_and_none_after_the_invoices_are_certified(case, people):
    application = case("approved")
    ask(application, people)
    application.refresh_from_db()
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        ask(application, people, **later(application, months=6))
    assert refusal.value.status == 409
    assert refusal.value.reasons == [
        "Zu diesem Antrag ist bereits eine Fristverlängerung beantragt und noch nicht entschieden."
    ]
    assert frozen(application) == before

    other = case("paid", property=application.property.__class__.objects.create(street="Hauptstr.", house_number="9"))
    with pytest.raises(DomainError):
        ask(other, people, completion_deadline=date(2040, 1, 1), invoice_deadline=date(2040, 2, 1))


@pytest.mark.parametrize("step", ["grant_extension", "refuse_extension"])
def test_nothing_to_decide_without_a_request(case, people, step):
    application = case("approved")
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.SERVICES[step](application_id=application.pk, by=people.caseworker, comment="Grund")
    assert refusal.value.status == 409
    assert refusal.value.reasons == ["Zu diesem Antrag ist keine Fristverlängerung beantragt."]
    assert frozen(application) == before


PERSONAS = ["owner", "other_owner", "caseworker", "approver", "finance", "auditor", "foreign_caseworker"]
ALLOWED = {
    "request_extension": {"owner"},
    "grant_extension": {"caseworker"},
    "refuse_extension": {"caseworker"},
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("step", ALLOWED)
def test_each_extension_step_only_for_its_role(case, people, step, persona):
    application = case("approved")
    if step != "request_extension":
        ask(application, people)
    application.refresh_from_db()
    before = frozen(application)
    kwargs = (
        {"reason": "Mehr Zeit", **later(application, months=5)}
        if step == "request_extension"
        else {"comment": "Begründung"}
    )
    call = lambda: services.SERVICES[step](application_id=application.pk, by=getattr(people, persona), **kwargs)  # noqa: E731
    if persona in ALLOWED[step]:
        call()
        assert frozen(application) != before
        return
    with pytest.raises(DomainError) as refusal:
        call()
    expected = 404 if persona in {"other_owner", "foreign_caseworker"} else 403
    assert refusal.value.status == expected
    assert frozen(application) == before


def test_reminders_follow_the_new_deadlines(case, people):
    application = case("approved")
    old = application.completion_deadline
    assert notifications.send_reminders(on=old - timedelta(weeks=2)) == 1  # four weeks before the old date
    ask(application, people)
    services.extension_grant(application_id=application.pk, by=people.caseworker)
    application.refresh_from_db()
    assert notifications.send_reminders(on=old - timedelta(weeks=1)) == 0  # the old date no longer reminds
    assert notifications.send_reminders(on=old) == 0
    new = application.completion_deadline
    assert notifications.send_reminders(on=new - timedelta(weeks=3)) == 1  # the new one does, once
    assert notifications.send_reminders(on=new - timedelta(weeks=2)) == 0
    assert f"{new:%d.%m.%Y}" in mail.outbox[-1].subject
    # Invoices overdue: by the new invoice deadline, not the old one.
    assert notifications.send_reminders(on=new + timedelta(days=40)) == 0
    assert notifications.send_reminders(on=application.invoice_deadline + timedelta(days=1)) == 1


# --- the portal, the workspace and the API --------------------------------------------------------


def test_the_owner_asks_in_the_portal_and_sees_the_request_on_the_case_page(case, people):
    application = case("approved")
    client = Client()
    client.force_login(people.owner)
    page = client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert reverse("portal:request_extension", args=[application.pk]) in page

    url = reverse("portal:request_extension", args=[application.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert f'value="{application.completion_deadline:%Y-%m-%d}"' in form.content.decode()  # prefilled

    empty = client.post(url, {"completion_deadline": "", "invoice_deadline": "", "reason": ""})
    assert empty.status_code == 400
    assert "Bitte begründen Sie, warum Sie mehr Zeit brauchen." in empty.content.decode()
    assert not DeadlineExtension.objects.exists()

    wanted = later(application)
    response = client.post(
        url,
        {
            "completion_deadline": f"{wanted['completion_deadline']:%Y-%m-%d}",
            "invoice_deadline": f"{wanted['invoice_deadline']:%Y-%m-%d}",
            "reason": "Lieferzeit der Fenster",
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ihr Antrag auf Fristverlängerung ist eingegangen." in page
    assert "Lieferzeit der Fenster" in page and f"{wanted['completion_deadline']:%d.%m.%Y}" in page
    assert url not in page  # one request at a time: the button is gone
    assert client.get(url).status_code == 302  # and the page sends the owner back


def test_the_page_is_only_for_the_owner_of_an_approved_case(case, people):
    application = case("submitted")
    client = Client()
    client.force_login(people.owner)
    url = reverse("portal:request_extension", args=[application.pk])
    assert client.get(url).status_code == 302
    other = Client()
    other.force_login(people.other_owner)
    approved = case(
        "approved", property=application.property.__class__.objects.create(street="Hauptstr.", house_number="7")
    )
    assert other.get(reverse("portal:request_extension", args=[approved.pk])).status_code == 404


def test_the_caseworker_finds_the_request_in_the_queue_and_grants_it_in_the_workspace(case, people):
    application = case("approved")
    ask(application, people)
    client = Client()
    client.force_login(people.caseworker)
    queue = client.get(reverse("workspace:start")).content.decode()
    assert application.file_number in queue and "Fristverlängerung bewilligen" in queue
    page = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "Fristverlängerung bewilligen" in page and "Der Gerüstbauer kann erst im Frühjahr." in page
    response = client.post(
        reverse("workspace:step", args=[application.pk, "grant_extension"]), {"comment": ""}, follow=True
    )
    assert response.status_code == 200
    application.refresh_from_db()
    assert application.extension_requested_at is None
    assert DeadlineExtension.objects.get().outcome == DeadlineExtension.Outcome.GRANTED


def test_the_api_asks_and_shows_the_extensions(case, people):
    application = case("approved")

    def client(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return c

    wanted = later(application)
    body = {k: f"{v:%Y-%m-%d}" for k, v in wanted.items()} | {"reason": "Lieferzeit"}
    url = f"/api/applications/{application.pk}/request-extension/"
    assert client(people.caseworker).post(url, body, format="json").status_code == 403
    missing = client(people.owner).post(url, {**body, "reason": ""}, format="json")
    assert missing.status_code == 400
    response = client(people.owner).post(url, body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["extension_requested_at"] and data["extensions"][0]["outcome"] == "open"
    assert data["extensions"][0]["completion_deadline"] == body["completion_deadline"]
    again = client(people.owner).post(url, body, format="json")
    assert again.status_code == 409 and again.json()["reasons"]
    granted = client(people.caseworker).post(
        f"/api/applications/{application.pk}/grant-extension/", {"comment": ""}, format="json"
    )
    assert granted.status_code == 200
    assert granted.json()["completion_deadline"] == body["completion_deadline"]
    assert granted.json()["extensions"][0]["outcome"] == "granted"
