"""Finality of notices: deemed notification, the appeal deadline, the waiver, objection and lawsuit.

Every expected date is counted by hand in the comment next to it (calendar of the year, holidays of the state).
"""

from __future__ import annotations

from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.errors import DomainError
from grants import finality, notices, services
from grants.finality import FEDERAL, FEDERAL_RULES, DeemedRule, Standing, appeal_deadline, deemed_days, notified_on
from grants.models import Appeal, GrantApplication, Letter, LetterKind, Notice, OutboundEmail

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def at(day: date, hour: int = 10):
    """Pretend it is ``day`` (10 o'clock in Germany): what the services, the mail and the portal take as today."""
    return mock.patch(
        "django.utils.timezone.now", return_value=datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)
    )


# --- the pure rules (grants.finality) --------------------------------------------------------------


@pytest.mark.parametrize("state", ["SN", "NW"])
def test_a_deemed_day_on_good_friday_moves_past_easter_monday(state):
    # 2025: posted Mon 14 Apr, the 4th day is Good Friday 18 Apr; Sat, Sun, Easter Monday 21 Apr → Tue 22 Apr.
    assert notified_on("post", date(2025, 4, 14), state, deemed_days(FEDERAL_RULES, state, date(2025, 4, 14))) == date(
        2025, 4, 22
    )
    # 2024: posted Tue 26 Mar, the 3rd day is Good Friday 29 Mar; Easter Monday 1 Apr → Tue 2 Apr.
    assert deemed_days(FEDERAL_RULES, state, date(2024, 3, 26)) == 3
    assert notified_on("post", date(2024, 3, 26), state, 3) == date(2024, 4, 2)


def test_the_rule_of_the_posting_day_applies_three_days_until_2024_four_since_2025():
    assert deemed_days(FEDERAL_RULES, "NW", date(2024, 12, 31)) == 3
    assert deemed_days(FEDERAL_RULES, "NW", date(2025, 1, 1)) == 4
    # Posted Mon 30 Dec 2024: 3rd day Thu 2 Jan 2025. Posted Tue 31 Dec 2024: Fri 3 Jan 2025.
    assert notified_on("post", date(2024, 12, 30), "NW", 3) == date(2025, 1, 2)
    assert notified_on("post", date(2024, 12, 31), "NW", 3) == date(2025, 1, 3)
    # Posted Thu 2 Jan 2025: 4th day Mon 6 Jan – Epiphany in Bavaria (→ Tue 7 Jan), a working day in NRW.
    assert notified_on("post", date(2025, 1, 2), "NW", 4) == date(2025, 1, 6)
    assert notified_on("post", date(2025, 1, 2), "BY", 4) == date(2025, 1, 7)


def test_a_state_row_wins_over_the_federal_rule_from_its_own_date():
    rules = [*FEDERAL_RULES, DeemedRule("BY", date(1977, 1, 1), 3), DeemedRule("BY", date(2025, 7, 1), 4)]
    assert deemed_days(rules, "BY", date(2025, 3, 3)) == 3  # Bavaria still on 3 days then
    assert deemed_days(rules, "BY", date(2025, 7, 1)) == 4
    assert deemed_days(rules, "NW", date(2025, 3, 3)) == 4  # no rows of its own: the federal rule
    assert deemed_days(rules, "", date(2025, 3, 3)) == 4  # no state set
    # A table emptied or never filled (as in a test that flushes the database): the statute's own federal rule.
    assert deemed_days([], "NW", date(2024, 1, 1)) == 3
    assert deemed_days([], "NW", date(2025, 3, 3)) == 4
    assert deemed_days([DeemedRule(FEDERAL, date(2025, 1, 1), 5)], "NW", date(2025, 3, 3)) == 5  # the table wins
    with pytest.raises(ValueError):
        deemed_days([], "NW", date(1970, 1, 1))


def test_reformation_day_moves_the_deemed_day_in_saxony_not_in_north_rhine_westphalia():
    # Posted Mon 27 Oct 2025: the 4th day is Fri 31 Oct, Reformationstag in Saxony → Mon 3 Nov.
    assert notified_on("post", date(2025, 10, 27), "SN", 4) == date(2025, 11, 3)
    # Deadline: 3 Dec 2025, a Wednesday.
    assert appeal_deadline(date(2025, 11, 3), "SN", remedy_notice=True) == date(2025, 12, 3)
    # In NRW Fri 31 Oct is a working day; a month later: November has no 31st → 30 Nov (§ 188 (3) BGB), a Sunday
    # → Mon 1 Dec.
    assert notified_on("post", date(2025, 10, 27), "NW", 4) == date(2025, 10, 31)
    assert appeal_deadline(date(2025, 10, 31), "NW", remedy_notice=True) == date(2025, 12, 1)


def test_a_deadline_ending_on_all_saints_or_corpus_christi_moves_in_nrw_not_in_saxony():
    # Notified Fri 1 Oct 2027: the month ends Mon 1 Nov 2027, Allerheiligen in NRW → Tue 2 Nov; in Saxony it stays.
    assert appeal_deadline(date(2027, 10, 1), "NW", remedy_notice=True) == date(2027, 11, 2)
    assert appeal_deadline(date(2027, 10, 1), "SN", remedy_notice=True) == date(2027, 11, 1)
    # Notified Mon 19 May 2025: ends Thu 19 Jun 2025, Fronleichnam in NRW → Fri 20 Jun; in Saxony it stays.
    assert appeal_deadline(date(2025, 5, 19), "NW", remedy_notice=True) == date(2025, 6, 20)
    assert appeal_deadline(date(2025, 5, 19), "SN", remedy_notice=True) == date(2025, 6, 19)
    # Buß- und Bettag (Wed 19 Nov 2025) only in Saxony: notified Sun 19 Oct would end on it → Thu 20 Nov.
    assert appeal_deadline(date(2025, 10, 19), "SN", remedy_notice=True) == date(2025, 11, 20)
    assert appeal_deadline(date(2025, 10, 19), "NW", remedy_notice=True) == date(2025, 11, 19)


def test_without_a_remedy_notice_the_deadline_is_a_year():
    # Notified Tue 22 Apr 2025: a month → Thu 22 May 2025; a year (§ 58 (2) VwGO) → Wed 22 Apr 2026.
    assert appeal_deadline(date(2025, 4, 22), "NW", remedy_notice=True) == date(2025, 5, 22)
    assert appeal_deadline(date(2025, 4, 22), "NW", remedy_notice=False) == date(2026, 4, 22)
    # Notified Thu 29 Feb 2024: the next year has no 29 Feb → Fri 28 Feb 2025.
    assert appeal_deadline(date(2024, 2, 29), "NW", remedy_notice=False) == date(2025, 2, 28)


def test_retrieved_in_the_portal_it_counts_as_notified_the_day_after():
    # Retrieved Wed 18 Jun 2025: the day after is Fronleichnam in NRW → Fri 20 Jun; in Saxony Thu 19 Jun.
    assert notified_on("portal", date(2025, 6, 18), "NW", 4) == date(2025, 6, 20)
    assert notified_on("portal", date(2025, 6, 18), "SN", 4) == date(2025, 6, 19)


def test_final_the_day_after_the_deadline_or_on_the_waiver_never_while_an_appeal_is_pending():
    deadline = date(2025, 5, 22)
    assert finality.final_on(deadline=deadline, waiver_on=None, appeals=[]) == date(2025, 5, 23)
    assert finality.final_on(deadline=deadline, waiver_on=date(2025, 4, 25), appeals=[]) == date(2025, 4, 25)
    assert finality.final_on(deadline=deadline, waiver_on=None, appeals=[("pending", None)]) is None
    assert finality.final_on(deadline=deadline, waiver_on=None, appeals=[("granted", date(2025, 6, 2))]) is None
    # Rejected on 10 Jun: final the day after. Withdrawn before the deadline ended: the deadline still counts.
    assert finality.final_on(deadline=deadline, waiver_on=None, appeals=[("rejected", date(2025, 6, 10))]) == date(
        2025, 6, 11
    )
    assert finality.final_on(deadline=deadline, waiver_on=None, appeals=[("withdrawn", date(2025, 5, 2))]) == date(
        2025, 5, 23
    )
    assert finality.final_on(deadline=None, waiver_on=None, appeals=[]) is None
    today = date(2025, 5, 23)
    assert finality.standing(sent=True, final=date(2025, 5, 23), appeals=[], today=today) == Standing.FINAL
    assert finality.standing(sent=True, final=date(2025, 5, 24), appeals=[], today=today) == Standing.OPEN
    assert finality.standing(sent=False, final=None, appeals=[], today=today) == Standing.UNSENT
    assert finality.standing(sent=True, final=None, appeals=[("pending", None)], today=today) == Standing.PENDING


# --- the case: sending, waiver, appeals -----------------------------------------------------------


@pytest.fixture
def nrw(musterstadt):
    musterstadt.state = "NW"
    musterstadt.save()
    return musterstadt


def approve_on(application, people, day: date, capture):
    """Approve now (the allocation is this year's); its letter and e-mail go out as if on ``day``."""
    with capture() as callbacks:
        services.application_approve(application_id=application.pk, by=people.approver)
    with at(day):
        for callback in callbacks:
            callback()
    return application


@pytest.fixture
def approved(case, people, nrw, django_capture_on_commit_callbacks):
    """Alice's case approved; the approval notice is made and e-mailed on Mon 14 Apr 2025."""
    with django_capture_on_commit_callbacks(execute=True):
        application = case("checked")  # with its receipt, a letter that is no notice
    return approve_on(application, people, date(2025, 4, 14), django_capture_on_commit_callbacks)


def approval_notice(application) -> Notice:
    return Notice.objects.get(letter__application=application, letter__kind=LetterKind.APPROVAL)


def test_the_email_with_the_notice_records_its_sending_and_dates(approved):
    notice = approval_notice(approved)
    email = OutboundEmail.objects.get(letter=notice.letter)
    assert email.sent_at is not None
    # Sent Mon 14 Apr 2025 → 4th day Good Friday → Tue 22 Apr; deadline Thu 22 May; final Fri 23 May 2025.
    assert (notice.sent_via, notice.sent_on, notice.deemed_days) == ("email", date(2025, 4, 14), 4)
    assert (notice.notified_on, notice.appeal_deadline, notice.final_on) == (
        date(2025, 4, 22),
        date(2025, 5, 22),
        date(2025, 5, 23),
    )
    assert notice.remedy_notice
    # Letters without a legal remedy (the receipt) have no notice row.
    assert not Notice.objects.filter(letter__kind=LetterKind.RECEIPT).exists()
    with at(date(2025, 5, 22)):
        assert notice.standing == Standing.OPEN
        assert notice.status_text == "noch nicht bestandskräftig (Frist bis 22.05.2025)"
    with at(date(2025, 5, 23)):
        assert notice.status_text == "bestandskräftig seit 23.05.2025"


def test_a_mail_server_that_is_down_leaves_the_notice_unsent(
    case, people, nrw, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.grants.failing_mail.Backend"
    # The task fails (and is retried later): the approval stands, the e-mail is not sent.
    application = approve_on(case("checked"), people, date(2025, 4, 14), django_capture_on_commit_callbacks)
    notice = approval_notice(application)
    assert (notice.sent_via, notice.sent_on, notice.notified_on, notice.final_on) == ("", None, None, None)
    assert OutboundEmail.objects.get(letter=notice.letter).sent_at is None


@pytest.fixture
def posted(case, people, nrw, django_capture_on_commit_callbacks):
    """An approval notice that went by post: the owner has no e-mail address."""
    application = case("checked")
    applicant = application.applicant
    applicant.email = ""
    applicant.save()
    applicant.user.email = ""
    applicant.user.save()
    # The letter is made on Thu 10 Apr 2025.
    return approve_on(application, people, date(2025, 4, 10), django_capture_on_commit_callbacks)


def test_staff_record_the_posting_and_the_deadline_follows(posted, people):
    notice = approval_notice(posted)
    assert notice.sent_on is None
    # Posted Mon 27 Oct 2025 in NRW: notified Fri 31 Oct, deadline Sun 30 Nov → Mon 1 Dec 2025.
    with at(date(2025, 10, 28)):
        services.notice_record_sending(
            application_id=posted.pk, letter_id=notice.letter_id, by=people.caseworker, sent_on=date(2025, 10, 27)
        )
    notice.refresh_from_db()
    assert (notice.sent_via, notice.notified_on, notice.appeal_deadline, notice.final_on) == (
        "post",
        date(2025, 10, 31),
        date(2025, 12, 1),
        date(2025, 12, 2),
    )
    with at(date(2025, 10, 28)), pytest.raises(DomainError, match="schon erfasst"):
        services.notice_record_sending(
            application_id=posted.pk, letter_id=notice.letter_id, by=people.caseworker, sent_on=date(2025, 10, 27)
        )


def test_a_posting_in_the_future_or_before_the_letter_is_refused(posted, people):
    notice = approval_notice(posted)
    for day in (date(2099, 1, 1), date(2000, 1, 1), None):
        with pytest.raises(DomainError) as refusal:
            services.notice_record_sending(
                application_id=posted.pk, letter_id=notice.letter_id, by=people.caseworker, sent_on=day
            )
        assert refusal.value.status == 400
    notice.refresh_from_db()
    assert notice.sent_on is None


def test_the_owners_first_download_is_the_notification_in_the_portal(posted, people):
    notice = approval_notice(posted)
    url = reverse("letter-download", args=[notice.letter_id])
    staff = Client()
    staff.force_login(people.caseworker)
    assert staff.get(url).status_code == 200
    notice.refresh_from_db()
    assert notice.sent_on is None and notice.first_downloaded_at is None  # staff downloading change nothing
    owner = Client()
    owner.force_login(people.owner)
    # Retrieved Wed 18 Jun 2025: notified Fri 20 Jun (Fronleichnam in NRW between); deadline Sun 20 Jul → Mon 21 Jul.
    with at(date(2025, 6, 18)):
        assert owner.get(url).status_code == 200
    with at(date(2025, 6, 25)):
        assert owner.get(url).status_code == 200  # the first download counts, not a later one
    notice.refresh_from_db()
    assert (notice.sent_via, notice.sent_on, notice.notified_on, notice.appeal_deadline) == (
        "portal",
        date(2025, 6, 18),
        date(2025, 6, 20),
        date(2025, 7, 21),
    )
    assert notice.first_downloaded_at.date() == date(2025, 6, 18)


def test_a_notice_without_a_remedy_notice_has_a_year(case, people, nrw, django_capture_on_commit_callbacks):
    from grants.models import LetterTemplate

    LetterTemplate.objects.create(
        municipality=nrw, kind=LetterKind.APPROVAL, subject="Bescheid", body="Bewilligt.", signatory="Im Auftrag"
    )
    application = approve_on(case("checked"), people, date(2025, 4, 14), django_capture_on_commit_callbacks)
    notice = approval_notice(application)
    # Notified Tue 22 Apr 2025; a year → Wed 22 Apr 2026.
    assert not notice.remedy_notice
    assert (notice.notified_on, notice.appeal_deadline) == (date(2025, 4, 22), date(2026, 4, 22))


def test_a_waiver_recorded_by_staff_makes_the_notice_final_that_day(approved, people):
    notice = approval_notice(approved)
    with at(date(2025, 4, 28)):
        services.notice_record_waiver(
            application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, received_on=date(2025, 4, 25)
        )
        notice.refresh_from_db()
        assert notice.final_on == date(2025, 4, 25) and notice.standing == Standing.FINAL
        assert notice.status_text == "bestandskräftig seit 25.04.2025"
        with pytest.raises(DomainError, match="schon erfasst"):
            services.notice_record_waiver(
                application_id=approved.pk,
                letter_id=notice.letter_id,
                by=people.caseworker,
                received_on=date(2025, 4, 26),
            )
        with pytest.raises(DomainError, match="verzichtet"):
            services.appeal_record(
                application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
                received_on=date(2025, 4, 28), grounds="Zu wenig",
            )  # fmt: skip


def test_the_owner_waives_in_the_portal_only_when_confirmed(approved, people):
    notice = approval_notice(approved)
    client = Client()
    client.force_login(people.owner)
    url = reverse("portal:waive_appeal", args=[approved.pk, notice.letter_id])
    with at(date(2025, 4, 30)):
        page = client.get(reverse("portal:application", args=[approved.pk]))
        assert "noch nicht bestandskräftig (Frist bis 22.05.2025)" in page.content.decode()
        assert url in page.content.decode()
        assert client.get(url).status_code == 200
        assert client.post(url, {}).status_code == 400
        notice.refresh_from_db()
        assert notice.waiver_on is None
        assert client.post(url, {"confirm": "on"}).status_code == 302
        notice.refresh_from_db()
        assert (notice.waiver_on, notice.waiver_by, notice.final_on) == (
            date(2025, 4, 30),
            people.owner,
            date(2025, 4, 30),
        )
        assert (
            "bestandskräftig seit 30.04.2025"
            in client.get(reverse("portal:application", args=[approved.pk])).content.decode()
        )
    other = Client()
    other.force_login(people.other_owner)
    assert other.get(url).status_code == 404


def test_an_objection_stops_finality_until_it_is_decided(approved, people):
    notice = approval_notice(approved)
    with at(date(2025, 6, 1)):
        appeal = services.appeal_record(
            application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
            received_on=date(2025, 5, 5), grounds="Der Zuschuss ist zu niedrig berechnet.",
        )  # fmt: skip
        notice.refresh_from_db()
        assert notice.final_on is None and notice.standing == Standing.PENDING
        assert notice.status_text == "Widerspruch anhängig"
        with pytest.raises(DomainError, match="schon ein Rechtsbehelf anhängig"):
            services.appeal_record(
                application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
                received_on=date(2025, 5, 6), grounds="Noch einer",
            )  # fmt: skip
        with pytest.raises(DomainError, match="anhängig"):
            services.notice_record_waiver(
                application_id=approved.pk,
                letter_id=notice.letter_id,
                by=people.caseworker,
                received_on=date(2025, 6, 1),
            )
    # Rejected by the Widerspruchsbescheid of Tue 10 Jun 2025: final on Wed 11 Jun (later than 23 May).
    with at(date(2025, 6, 12)):
        services.appeal_decide(
            application_id=approved.pk, appeal_id=appeal.pk, by=people.caseworker, outcome="rejected",
            decided_on=date(2025, 6, 10), notes="Widerspruchsbescheid",
        )  # fmt: skip
        notice.refresh_from_db()
        assert notice.final_on == date(2025, 6, 11) and notice.standing == Standing.FINAL
        with pytest.raises(DomainError, match="schon entschieden"):
            services.appeal_decide(
                application_id=approved.pk, appeal_id=appeal.pk, by=people.caseworker, outcome="granted",
                decided_on=date(2025, 6, 11),
            )  # fmt: skip
        # A lawsuit against it follows: pending again.
        services.appeal_record(
            application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="lawsuit",
            court="Verwaltungsgericht Köln", received_on=date(2025, 6, 12), grounds="Klage",
        )  # fmt: skip
        notice.refresh_from_db()
        assert notice.final_on is None and notice.status_text == "Klage anhängig"


def test_a_granted_objection_leaves_the_notice_set_aside(approved, people):
    notice = approval_notice(approved)
    appeal = services.appeal_record(
        application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
        received_on=date(2025, 5, 5), grounds="Falsch berechnet",
    )  # fmt: skip
    services.appeal_decide(
        application_id=approved.pk, appeal_id=appeal.pk, by=people.caseworker, outcome="granted",
        decided_on=date(2025, 5, 20),
    )  # fmt: skip
    notice.refresh_from_db()
    assert notice.final_on is None and notice.standing == Standing.SET_ASIDE


def test_without_the_objection_procedure_only_a_lawsuit_with_its_court(approved, people, nrw):
    nrw.objection_procedure = False
    nrw.save()
    notice = approval_notice(approved)
    arguments = dict(application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker,
                     received_on=date(2025, 5, 5), grounds="Zu wenig")  # fmt: skip
    with pytest.raises(DomainError, match="kein Widerspruchsverfahren") as refusal:
        services.appeal_record(kind="objection", **arguments)
    assert refusal.value.status == 409
    with pytest.raises(DomainError, match="Gericht") as refusal:
        services.appeal_record(kind="lawsuit", **arguments)
    assert refusal.value.status == 400
    assert not Appeal.objects.exists()
    appeal = services.appeal_record(kind="lawsuit", court="Verwaltungsgericht Düsseldorf", **arguments)
    assert appeal.kind == "lawsuit" and appeal.court == "Verwaltungsgericht Düsseldorf"


# --- who may --------------------------------------------------------------------------------------


PERSONAS = ["owner", "other_owner", "caseworker", "approver", "finance", "auditor", "foreign_caseworker"]
ALLOWED = {
    "record_sending": {"caseworker"},
    "record_waiver": {"caseworker"},
    "record_appeal": {"caseworker"},
    "decide_appeal": {"caseworker"},
    "waive_appeal": {"owner"},
}


def waive_on(day: date, **arguments):
    with at(day):
        return services.notice_waive(**arguments, confirmed=True)


def frozen() -> dict:
    return {"notices": list(Notice.objects.values()), "appeals": list(Appeal.objects.values())}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", ALLOWED)
def test_each_notice_step_only_for_its_role_and_a_refusal_changes_nothing(posted, people, action, persona):
    notice = approval_notice(posted)
    if action != "record_sending":
        services.notice_record_sending(
            application_id=posted.pk, letter_id=notice.letter_id, by=people.caseworker, sent_on=date(2025, 4, 14)
        )
    by = getattr(people, persona)
    base = {"application_id": posted.pk, "by": by}
    if action == "decide_appeal":
        appeal = services.appeal_record(
            application_id=posted.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
            received_on=date(2025, 5, 5), grounds="Zu wenig",
        )  # fmt: skip
        call = lambda: services.appeal_decide(  # noqa: E731
            **base, appeal_id=appeal.pk, outcome="rejected", decided_on=date(2025, 6, 10)
        )
    else:
        call = {
            "record_sending": lambda: services.notice_record_sending(
                **base, letter_id=notice.letter_id, sent_on=date(2025, 4, 14)
            ),
            "record_waiver": lambda: services.notice_record_waiver(
                **base, letter_id=notice.letter_id, received_on=date(2025, 4, 20)
            ),
            "record_appeal": lambda: services.appeal_record(
                **base, letter_id=notice.letter_id, kind="objection", received_on=date(2025, 5, 5), grounds="Zu wenig"
            ),
            "waive_appeal": lambda: waive_on(date(2025, 4, 20), **base, letter_id=notice.letter_id),
        }[action]
    before = frozen()
    if persona in ALLOWED[action]:
        call()
        assert frozen() != before
        return
    with pytest.raises(DomainError) as refusal:
        call()
    assert refusal.value.status == (404 if persona in {"other_owner", "foreign_caseworker"} else 403)
    assert frozen() == before


def test_the_workspace_offers_the_forms_to_the_caseworker_and_refuses_the_auditor(posted, people):
    notice = approval_notice(posted)
    page = reverse("workspace:application", args=[posted.pk])
    sending = reverse("workspace:notice_sending", args=[posted.pk, notice.letter_id])
    auditor = Client()
    auditor.force_login(people.auditor)
    body = auditor.get(page).content.decode()
    assert "noch nicht bestandskräftig (Versand nicht erfasst)" in body and sending not in body
    assert auditor.post(sending, {"sent_on": "14.04.2025"}).status_code == 403
    assert approval_notice(posted).sent_on is None
    caseworker = Client()
    caseworker.force_login(people.caseworker)
    assert sending in caseworker.get(page).content.decode()
    assert caseworker.post(sending, {"sent_on": "kein Datum"}).status_code == 400
    assert caseworker.post(sending, {"sent_on": "14.04.2025"}).status_code == 302
    # Posted Mon 14 Apr 2025: notified Tue 22 Apr, deadline Thu 22 May 2025.
    notice = approval_notice(posted)
    assert (notice.notified_on, notice.appeal_deadline) == (date(2025, 4, 22), date(2025, 5, 22))
    appeal_url = reverse("workspace:appeal_new", args=[posted.pk, notice.letter_id])
    answer = caseworker.post(appeal_url, {"kind": "objection", "received_on": "2025-05-05", "grounds": "Zu wenig"})
    assert answer.status_code == 302
    body = caseworker.get(page).content.decode()
    assert "Widerspruch anhängig" in body
    appeal = Appeal.objects.get()
    decision = reverse("workspace:appeal_decision", args=[posted.pk, appeal.pk])
    assert decision in body
    assert auditor.post(decision, {"outcome": "rejected", "decided_on": "10.06.2025"}).status_code == 403
    assert caseworker.post(decision, {"outcome": "rejected", "decided_on": "10.06.2025"}).status_code == 302
    assert approval_notice(posted).final_on == date(2025, 6, 11)
    listing = caseworker.get(reverse("workspace:applications")).content.decode()
    assert "bestandskräftig seit 11.06.2025" in listing


def test_the_api_shows_the_finality_of_each_letter(approved, people):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=people.caseworker).key}")
    rows = client.get(f"/api/applications/{approved.pk}/letters/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    by_kind = {row["kind"]: row for row in rows}
    assert by_kind["receipt"]["notice"] is None
    assert by_kind["approval"]["notice"] | {"appeals": []} == {
        "sent_via": "email", "sent_on": "2025-04-14", "deemed_days": 4, "notified_on": "2025-04-22",
        "remedy_notice": True, "appeal_deadline": "2025-05-22", "waiver_on": None, "final_on": "2025-05-23",
        "standing": "final", "appeals": [],
    }  # fmt: skip


# --- faults: a write of several parts leaves nothing partial -----------------------------------------


class Injected(Exception):
    pass


def test_a_fault_after_the_appeal_row_leaves_neither_appeal_nor_new_finality(approved, people):
    notice = approval_notice(approved)
    before = frozen()
    with mock.patch.object(services, "notice_refresh", side_effect=Injected("database gone")), pytest.raises(Injected):
        services.appeal_record(
            application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
            received_on=date(2025, 5, 5), grounds="Zu wenig",
        )  # fmt: skip
    assert frozen() == before
    appeal = services.appeal_record(
        application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, kind="objection",
        received_on=date(2025, 5, 5), grounds="Zu wenig",
    )  # fmt: skip
    before = frozen()
    with mock.patch.object(services, "notice_refresh", side_effect=Injected("database gone")), pytest.raises(Injected):
        services.appeal_decide(
            application_id=approved.pk, appeal_id=appeal.pk, by=people.caseworker, outcome="rejected",
            decided_on=date(2025, 6, 10),
        )  # fmt: skip
    assert frozen() == before
    assert Appeal.objects.get().outcome == "pending"


def test_a_fault_while_recording_the_email_sending_sends_no_email_and_records_nothing(
    case, people, nrw, django_capture_on_commit_callbacks
):
    from django.core import mail

    with mock.patch.object(notices, "notice_refresh", side_effect=Injected("database gone")):
        application = approve_on(case("checked"), people, date(2025, 4, 14), django_capture_on_commit_callbacks)
    notice = approval_notice(application)
    assert notice.sent_on is None
    # The claim is rolled back with it: no e-mail counts as sent, and a retry sends it.
    assert not OutboundEmail.objects.filter(letter=notice.letter, sent_at__isnull=False).exists()
    assert not [m for m in mail.outbox if "Zuwendungsbescheid" in m.subject or "bewilligt" in m.subject.lower()]
    assert GrantApplication.objects.get(pk=application.pk).state == "approved"
    assert Letter.objects.filter(pk=notice.letter_id).exists()


def test_a_wrong_remedy_notice_recorded_later_gives_the_year_and_moves_finality(approved, people):
    notice = approval_notice(approved)
    assert (notice.appeal_deadline, notice.final_on) == (date(2025, 5, 22), date(2025, 5, 23))
    record = services.notice_record_remedy_defect
    with pytest.raises(DomainError) as refused:
        record(application_id=approved.pk, letter_id=notice.letter_id, by=people.approver, defect="Frist falsch")
    assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:
        record(application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, defect="  ")
    assert refused.value.status == 400
    # Found in June, after the month had run: a wrong remedy notice counts as none (§ 58 (2) VwGO).
    with at(date(2025, 6, 10)):
        record(
            application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker,
            defect="Als Frist sind zwei Wochen statt eines Monats genannt.",
        )  # fmt: skip
    notice.refresh_from_db()
    # Notified Tue 22 Apr 2025: a year to Wed 22 Apr 2026; final on Thu 23 Apr 2026.
    assert (notice.remedy_notice, notice.appeal_deadline, notice.final_on) == (
        False,
        date(2026, 4, 22),
        date(2026, 4, 23),
    )
    with at(date(2025, 6, 10)):
        assert notice.standing == Standing.OPEN
    with pytest.raises(DomainError) as refused:
        record(application_id=approved.pk, letter_id=notice.letter_id, by=people.caseworker, defect="Noch einmal")
    assert refused.value.status == 409 and "Jahresfrist" in str(refused.value)


def test_the_workspace_records_a_wrong_remedy_notice(approved, people):
    notice = approval_notice(approved)
    client = Client()
    client.force_login(people.caseworker)
    page = reverse("workspace:application", args=[approved.pk])
    assert "Rechtsbehelfsbelehrung als unrichtig erfassen" in client.get(page).content.decode()
    url = reverse("workspace:notice_remedy_defect", args=[approved.pk, notice.letter_id])
    assert client.post(url, {"defect": ""}).status_code == 400
    done = client.post(url, {"defect": "Falsche Widerspruchsbehörde genannt."})
    assert done.status_code == 302
    shown = client.get(page).content.decode()
    assert (
        "Falsche Widerspruchsbehörde genannt." in shown and "Rechtsbehelfsbelehrung als unrichtig erfassen" not in shown
    )
    other = Client()
    other.force_login(people.finance)
    assert other.post(url, {"defect": "x"}).status_code == 403
