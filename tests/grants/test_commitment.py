"""The commitment period (Zweckbindung): its dates, inspections, the owner's report of a sale, the list, reminders.

The final payment fixes the period (from the accepted proof's completion, else the payment day; §§ 187, 188 BGB);
an inspection with a finding opens the revocation case with its hearing, pro rata for the period left; a reported
sale waits for the caseworker, whose revocation form starts from it; after the end the commitment is fulfilled.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from io import BytesIO

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.errors import DomainError
from grants import commitment, notifications, revocations, services
from grants.models import (
    Document,
    GrantApplication,
    Inspection,
    LetterKind,
    ProofOfUse,
    Revocation,
    SaleReport,
)
from grants.selectors import applications_waiting_for, commitment_cases
from grants.services import ComponentInput, CostInput

from ..factories import make_application

State = GrantApplication.State
Finding = Inspection.Finding
pytestmark = pytest.mark.django_db

D = Decimal
TODAY = date.today()


def png(name: str) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def years_ago(application, start: date, years: int = 10) -> GrantApplication:
    """The case as if paid long ago: its period from ``start`` (the test's way of letting years pass)."""
    GrantApplication.objects.filter(pk=application.pk).update(
        commitment_from=start, commitment_until=commitment.commitment_end(start, years)
    )
    application.refresh_from_db()
    return application


def inspect(application, people, finding=Finding.OK, notes="", on=TODAY, **kwargs):
    return commitment.inspection_record(
        application_id=application.pk, by=kwargs.pop("by", people.caseworker), inspected_on=on, finding=finding,
        notes=notes, **kwargs,
    )  # fmt: skip


def report(application, people, sold_on=TODAY, buyer="Familie Becker", **kwargs):
    return commitment.sale_report(
        application_id=application.pk, by=kwargs.pop("by", people.owner), sold_on=sold_on, buyer=buyer, **kwargs
    )


# --- the period --------------------------------------------------------------------------------------------


def test_the_period_ends_on_the_day_that_corresponds_to_its_start_188_bgb():
    assert commitment.commitment_end(date(2026, 3, 1), 10) == date(2036, 3, 1)
    # No 29 February in the last year: the last day of February (§ 188 (3) BGB).
    assert commitment.commitment_end(date(2028, 2, 29), 10) == date(2038, 2, 28)
    assert commitment.commitment_end(date(2028, 2, 29), 12) == date(2040, 2, 29)


def test_the_final_payment_fixes_the_period_from_the_payment_day_for_the_notices_years(case):
    application = case("paid")
    assert application.commitment_from == TODAY
    assert application.commitment_until == TODAY + relativedelta(years=application.terms().commitment_years)
    assert application.commitment_status() == GrantApplication.Commitment.RUNNING
    assert case("approved").commitment_until is None  # not paid: no period yet


def test_with_an_accepted_proof_the_period_runs_from_the_completion_it_states(case, people):
    application = case("approved")
    ProofOfUse.objects.create(
        application=application, submitted_by=people.owner, completed_on=date(2026, 6, 30), report="Fertig",
        outcome=ProofOfUse.Outcome.ACCEPTED, decided_by=people.caseworker,
    )  # fmt: skip
    invoices = [ComponentInput("facade", D("180"), (CostInput("Schlussrechnung", D("35294.12"), D("6705.88")),))]
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    application = services.application_pay(application_id=application.pk, by=people.finance)
    assert (application.commitment_from, application.commitment_until) == (date(2026, 6, 30), date(2036, 6, 30))


def test_after_its_end_the_commitment_counts_as_fulfilled_and_the_list_says_so(case, people):
    running = case("paid")
    ended = years_ago(case("paid"), date(2016, 1, 1))  # ended on 1 January 2026
    assert ended.commitment_status() == GrantApplication.Commitment.FULFILLED
    assert running.commitment_status() == GrantApplication.Commitment.RUNNING
    pk = {"running": running.pk, "ended": ended.pk}
    listed = {
        status: list(commitment_cases(people.caseworker, today=TODAY, status=status).values_list("pk", flat=True))
        for status in ("running", "fulfilled", "all")
    }
    assert listed == {"running": [pk["running"]], "fulfilled": [pk["ended"]], "all": [pk["ended"], pk["running"]]}
    page = web(people.caseworker).get(reverse("workspace:commitment"), {"status": "fulfilled"}).content.decode()
    assert ended.file_number in page and running.file_number not in page and "erfüllt" in page
    # An inspection after the end is refused: there is nothing left to keep.
    with pytest.raises(DomainError) as refused:
        inspect(ended, people)
    assert refused.value.status == 409 and "Zweckbindungsfrist" in str(refused.value)


def test_the_list_filters_by_inspection_due_ending_and_programme(case, people):
    fresh = case("paid")  # started today: no inspection due yet
    due = years_ago(case("paid"), TODAY - relativedelta(years=3))
    checked = years_ago(case("paid"), TODAY - relativedelta(years=3))
    inspect(checked, people, on=TODAY - timedelta(days=30))
    ending = years_ago(case("paid"), TODAY - relativedelta(years=10) + timedelta(days=60))

    def listed(**filters):
        return set(commitment_cases(people.caseworker, today=TODAY, **filters).values_list("pk", flat=True))

    assert listed(status="inspection_due") == {due.pk, ending.pk}
    assert listed(status="ending") == {ending.pk}
    assert listed(status="running", ends_by=(TODAY + timedelta(days=60)).year) == {ending.pk}
    assert listed(status="running", programme=fresh.programme_id + 1000) == set()
    assert listed(status="running", q=fresh.file_number) == {fresh.pk}
    # The page shows the last inspection.
    page = web(people.caseworker).get(reverse("workspace:commitment"), {"q": checked.file_number}).content.decode()
    assert (TODAY - timedelta(days=30)).strftime("%d.%m.%Y") in page


# --- inspections -------------------------------------------------------------------------------------------


def test_an_inspection_without_objection_is_recorded_with_its_photos_and_nothing_more(case, people):
    application = case("documented")
    photo = png("fassade.png")
    inspection = inspect(application, people, photos=[photo])
    assert inspection.finding == Finding.OK and inspection.revocation is None
    assert [d.kind for d in inspection.photos.all()] == [Document.Kind.INSPECTION]
    application.refresh_from_db()
    assert application.open_revocation is None and application.state == State.DOCUMENTED
    assert StateLog.objects.filter(transition="record_inspection").count() == 1


def test_a_finding_opens_the_revocation_case_with_the_hearing_pro_rata_for_the_years_left(
    case, people, django_capture_on_commit_callbacks
):
    application = years_ago(case("paid"), date(2022, 1, 1))  # until 1 January 2032
    with django_capture_on_commit_callbacks(execute=True):
        inspection = inspect(
            application, people, Finding.DEFECT, "Die geförderten Holzfenster sind durch Kunststofffenster ersetzt.",
            on=date(2026, 1, 1),
        )  # fmt: skip
    revocation = inspection.revocation
    # 7,200 € for 3,652 days (2022–2031, two 29 Februaries); 2,191 days left from 1 January 2026:
    # 7,200 × 2,191 / 3,652 = 4,319.605… → 4,319.60 € (rounded down: never more than the share of the time left).
    assert (D("7200") * 2191 / 3652).quantize(D("0.01"), rounding=ROUND_DOWN) == D("4319.60")
    assert revocation.intended_amount == D("4319.60")
    assert revocation.reason == Revocation.Reason.PURPOSE and revocation.opened_by == people.caseworker
    assert "Kunststofffenster" in revocation.facts and "01.01.2026" in revocation.facts
    assert revocation.hearing_deadline == revocations.hearing_default(TODAY)
    application.refresh_from_db()
    assert application.open_revocation == revocation
    assert application.commitment_status() == GrantApplication.Commitment.BROKEN
    assert application.letters.filter(kind=LetterKind.HEARING).count() == 1
    assert [m.subject for m in mail.outbox if application.file_number in m.subject]  # the owner hears of it
    # Four-eyes as for any revocation: whoever recorded the finding opened the case, and may not decide it.
    with pytest.raises(DomainError) as refused:
        revocations.revocation_close(application_id=application.pk, by=people.caseworker, comment="Doch nicht")
    assert refused.value.status == 403
    # A second finding while the case is open is recorded, and opens nothing more.
    again = inspect(application, people, Finding.USE, "Laden als Lager genutzt.", on=date(2026, 2, 1))
    assert again.revocation is None and Revocation.objects.count() == 1


def test_bad_inspections_are_refused_with_every_reason_and_nothing_written(case, people):
    application = case("paid")
    before = (Inspection.objects.count(), StateLog.objects.count(), Document.objects.count())
    with pytest.raises(DomainError) as refused:
        inspect(application, people, finding="broken", on=None)
    assert refused.value.status == 400 and len(refused.value.reasons) == 2
    with pytest.raises(DomainError) as refused:
        inspect(application, people, Finding.DEFECT, "   ")
    assert refused.value.status == 400 and "beanstandet" in str(refused.value)
    with pytest.raises(DomainError) as refused:
        inspect(application, people, on=TODAY + timedelta(days=1))
    assert refused.value.status == 409 and "Zukunft" in str(refused.value)
    with pytest.raises(DomainError) as refused:
        inspect(application, people, on=TODAY - timedelta(days=1))  # before the period began today
    assert refused.value.status == 409
    photo = SimpleUploadedFile("keinbild.png", b"not a picture", content_type="image/png")
    with pytest.raises(DomainError) as refused:  # the upload check refuses it, and the rest with it
        inspect(application, people, photos=[png("gut.png"), photo])
    assert refused.value.status == 400 and "keinbild.png" in str(refused.value)
    assert (Inspection.objects.count(), StateLog.objects.count(), Document.objects.count()) == before


@pytest.mark.parametrize("role", ["owner", "approver", "finance", "auditor"])
def test_only_the_caseworker_records_an_inspection(role, case, people):
    application = case("paid")
    with pytest.raises(DomainError) as refused:
        inspect(application, people, by=getattr(people, role))
    assert refused.value.status in (403, 404)
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("state", ["submitted", "checked", "approved"])
def test_no_inspection_before_the_payment(state, case, people):
    application = case(state)
    with pytest.raises(DomainError) as refused:
        inspect(application, people)
    assert refused.value.status == 409 and not Inspection.objects.exists()


# --- the owner's report of a sale --------------------------------------------------------------------------


def test_a_reported_sale_waits_for_the_caseworker_whose_form_starts_from_it(
    case, people, django_capture_on_commit_callbacks
):
    application = years_ago(case("documented"), date(2022, 1, 1))
    assert application.pk not in {a.pk for a in applications_waiting_for(people.caseworker)}
    sold = date(2026, 1, 1)
    report(application, people, sold_on=sold, buyer="Familie Becker", buyer_continues=True, notes="Notarvertrag folgt")
    application.refresh_from_db()
    assert application.sale_reported_at is not None
    assert application.pk in {a.pk for a in applications_waiting_for(people.caseworker)}
    # A second report while the first waits: 409.
    with pytest.raises(DomainError) as refused:
        report(application, people)
    assert refused.value.status == 409

    page = web(people.caseworker).get(reverse("workspace:revocation_new", args=[application.pk])).content.decode()
    assert "Familie Becker" in page and "4.319,60" in page and "Zweckbindung übernehmen" in page
    deadline = (TODAY + timedelta(days=28)).strftime("%d.%m.%Y")
    with django_capture_on_commit_callbacks(execute=True):
        done = web(people.caseworker).post(
            reverse("workspace:revocation_new", args=[application.pk]),
            {"reason": "sale", "facts": "Verkauf laut Meldung", "hearing_deadline": deadline,
             "intended_amount": "4.319,60"},
        )  # fmt: skip
    assert done.status_code == 302
    application.refresh_from_db()
    (sale,) = SaleReport.objects.all()
    assert sale.revocation == application.open_revocation and application.sale_reported_at is None
    assert application.pk not in {a.pk for a in applications_waiting_for(people.caseworker)}


def test_the_owner_reports_through_the_portal_and_sees_the_period(case, people):
    application = case("paid")
    detail = web(people.owner).get(reverse("portal:application", args=[application.pk])).content.decode()
    assert application.commitment_until.strftime("%d.%m.%Y") in detail and "Veräußerung oder Umnutzung melden" in detail
    url = reverse("portal:report_sale", args=[application.pk])
    assert web(people.owner).post(url, {"sold_on": "", "buyer": ""}).status_code == 400
    assert not SaleReport.objects.exists()
    done = web(people.owner).post(url, {"sold_on": TODAY.strftime("%d.%m.%Y"), "buyer": "Café Krümel (Gastronomie)"})
    assert done.status_code == 302 and SaleReport.objects.get().buyer == "Café Krümel (Gastronomie)"
    detail = web(people.owner).get(reverse("portal:application", args=[application.pk])).content.decode()
    assert "Wird geprüft." in detail and "Veräußerung oder Umnutzung melden" not in detail
    # Someone else's case: 404; staff do not report for the owner.
    assert web(people.other_owner).get(url).status_code == 404
    with pytest.raises(DomainError) as refused:
        report(application, people, by=people.caseworker)
    assert refused.value.status == 403


def test_bad_reports_are_refused_and_nothing_written(case, people):
    application = case("paid")
    with pytest.raises(DomainError) as refused:
        report(application, people, sold_on=None, buyer=" ")
    assert refused.value.status == 400 and len(refused.value.reasons) == 2
    with pytest.raises(DomainError) as refused:
        report(application, people, sold_on=TODAY - timedelta(days=1))  # before the period began
    assert refused.value.status == 409
    with pytest.raises(DomainError) as refused:
        report(case("approved"), people)
    assert refused.value.status == 409
    assert not SaleReport.objects.exists() and not StateLog.objects.filter(transition="report_sale").exists()


# --- the doors: workspace, API, queries ----------------------------------------------------------------------


def test_the_workspace_records_an_inspection_with_photos(case, people):
    application = case("paid")
    page = web(people.caseworker).get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "Zweckbindung" in page and "Vor-Ort-Kontrolle erfassen" in page
    assert (
        "Vor-Ort-Kontrolle erfassen"
        not in web(people.auditor).get(reverse("workspace:application", args=[application.pk])).content.decode()
    )
    url = reverse("workspace:inspection_new", args=[application.pk])
    refused = web(people.caseworker).post(url, {"inspected_on": TODAY.strftime("%d.%m.%Y"), "finding": "defect"})
    assert refused.status_code == 400 and "beanstandet" in refused.content.decode()
    photo = png("hof.png")
    done = web(people.caseworker).post(
        url, {"inspected_on": TODAY.strftime("%d.%m.%Y"), "finding": "ok", "notes": "", "photos": [photo]}
    )
    assert done.status_code == 302 and done.url.endswith("#commitment-heading")
    page = web(people.caseworker).get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "ohne Beanstandung" in page and "hof.png" in page
    assert web(people.finance).get(url).status_code == 403


def test_the_api_records_inspections_and_sale_reports(case, people):
    application = case("paid")
    base = f"/api/applications/{application.pk}"
    body = {"inspected_on": str(TODAY), "finding": "ok"}
    assert api(people.finance).post(f"{base}/record-inspection/", body, format="json").status_code == 403
    answer = api(people.caseworker).post(f"{base}/record-inspection/", body, format="json")
    assert answer.status_code == 201 and answer.json()["inspections"][0]["finding"] == "ok"
    assert answer.json()["commitment_status"] == "running"
    assert answer.json()["commitment_until"] == str(application.commitment_until)
    sale = {"sold_on": str(TODAY), "buyer": "Familie Becker"}
    assert api(people.caseworker).post(f"{base}/report-sale/", sale, format="json").status_code == 403
    answer = api(people.owner).post(f"{base}/report-sale/", sale, format="json")
    assert answer.status_code == 201 and answer.json()["sale_reports"][0]["buyer"] == "Familie Becker"
    assert api(people.owner).post(f"{base}/report-sale/", sale, format="json").status_code == 409
    assert api(people.other_owner).post(f"{base}/report-sale/", sale, format="json").status_code == 404


def test_the_list_costs_the_same_queries_for_3_and_30_cases(programme, people, django_assert_num_queries):
    def cases(n):
        for i in range(n):
            application = make_application(programme=programme, applicant=people.alice, area=str(50 + i % 5))
            GrantApplication.objects.filter(pk=application.pk).update(
                state=State.PAID, commitment_from=TODAY, commitment_until=TODAY + relativedelta(years=10)
            )

    client = web(people.caseworker)
    cases(3)
    client.get(reverse("workspace:commitment"))  # the session and the user's roles are cached from here
    with django_assert_num_queries(9) as three:
        assert client.get(reverse("workspace:commitment")).status_code == 200
    cases(27)
    with django_assert_num_queries(len(three.captured_queries)):
        assert client.get(reverse("workspace:commitment")).status_code == 200


# --- reminders ---------------------------------------------------------------------------------------------


def test_the_caseworkers_are_reminded_once_in_each_year_of_the_period_and_at_its_end(case, people):
    application = years_ago(case("paid"), TODAY - relativedelta(years=3, days=5))  # year 4 began five days ago
    mail.outbox.clear()
    assert notifications.send_commitment_reminders(on=TODAY) == 1
    (message,) = mail.outbox
    assert people.caseworker.email in message.to and "Jahr 4 von 10" in message.subject
    assert "noch nicht erfasst" in message.body
    assert notifications.send_commitment_reminders(on=TODAY) == 0  # once a year
    assert notifications.send_commitment_reminders(on=TODAY + timedelta(days=30)) == 0
    # The next year, the next reminder, with the inspection recorded meanwhile.
    inspect(application, people, on=TODAY)
    assert notifications.send_commitment_reminders(on=TODAY + relativedelta(years=1)) == 1
    assert f"am {TODAY:%d.%m.%Y}" in mail.outbox[-1].body
    # At the end: fulfilled.
    end = application.commitment_until + timedelta(days=1)
    assert notifications.send_commitment_reminders(on=end) == 1
    assert "erfüllt" in mail.outbox[-1].subject
    # A case with a revocation case is not reminded of: it is in the queues.
    other = years_ago(case("paid"), TODAY - relativedelta(years=2, days=1))
    inspect(other, people, Finding.SALE, "Verkauft laut Grundbuch.", on=TODAY)
    assert notifications.send_commitment_reminders(on=TODAY) == 0


def test_the_reminder_task_is_on_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["commitment-reminders"]["task"] == "grants.tasks.send_commitment_reminders"


def test_inspections_and_sale_reports_are_in_the_art_15_export_and_go_with_the_anonymisation(case, people):
    from grants.personal_data import personal_data
    from grants.privacy import application_anonymise

    application = case("documented")
    inspect(application, people, photos=[png("giebel.png")], notes="Giebel frisch gestrichen.")
    report(application, people, buyer="Erika Nachbarin", notes="Verkauf an die Nachbarin")
    (exported,) = [a for a in personal_data(applicant=people.alice)["antraege"] if a["id"] == application.pk]
    assert exported["zweckbindung"]["bis"] == str(application.commitment_until)
    assert exported["vor_ort_kontrollen"][0]["fotos"] == ["giebel.png"]
    assert exported["veraeusserungsmeldungen"][0]["erwerber_oder_nutzung"] == "Erika Nachbarin"
    application_anonymise(application_id=application.pk)
    inspection, sale = Inspection.objects.get(), SaleReport.objects.get()
    assert inspection.notes == "[anonymisiert]" and inspection.finding == Finding.OK
    assert (sale.buyer, sale.notes) == ("[anonymisiert]", "") and sale.sold_on == TODAY
    assert all(photo.removed_at for photo in inspection.photos.all())
