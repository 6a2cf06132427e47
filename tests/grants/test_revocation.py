"""Hearing, revocation and withdrawal of a notice, and the reclaim with § 49a interest, through the services.

A caseworker opens a revocation case (hearing, § 28 VwVfG), the owner answers, a second person decides (§ 49 (3) or
§ 48 VwVfG, in full or in part, or only interest for late use, § 49a (4)) or closes it; finance books the repayments,
credited to interest first (§ 367 BGB) and booked per funding share exactly. Interest figures are computed by hand.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from io import BytesIO, StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_fsm_log.models import StateLog
from openpyxl import load_workbook
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets.interest import Tranche, reclaim_account, tranches_of
from budgets.models import Allocation, BaseRate, LedgerEntry
from budgets.services import case_figures
from budgets.shares import SHARES
from core.errors import DomainError
from grants import revocations, services
from grants.models import GrantApplication, LetterKind, Repayment, Revocation
from reports.statements import write_statement

from ..factories import UserFactory
from .test_invoices import certify, record

State = GrantApplication.State
Outcome = Revocation.Outcome
pytestmark = pytest.mark.django_db

D = Decimal
TODAY = date.today()


def text_of(letter) -> str:
    with letter.file.open("rb") as handle:
        return " ".join(" ".join(page.extract_text() for page in PdfReader(handle).pages).split())


def open_case(application, people, **kwargs) -> Revocation:
    return revocations.revocation_open(
        application_id=application.pk,
        by=kwargs.pop("by", people.caseworker),
        reason=kwargs.pop("reason", Revocation.Reason.SALE),
        facts=kwargs.pop("facts", "Das Haus wurde am 1. Oktober verkauft; die Fassade ist überstrichen."),
        hearing_deadline=kwargs.pop("hearing_deadline", TODAY + timedelta(days=28)),
        **kwargs,
    )


def answer(application, people, text="Der Verkauf war nötig; der Käufer erhält die Fassade."):
    return revocations.hearing_answer(application_id=application.pk, by=people.owner, answer=text)


def decide(application, people, **kwargs):
    kwargs.setdefault("outcome", Outcome.REVOKED)
    kwargs.setdefault("effective_from", TODAY)
    kwargs.setdefault("due_on", TODAY + timedelta(days=30))
    kwargs.setdefault("comment", "Zweckbindung verletzt (Nr. 3 der Nebenbestimmungen); Ermessen ausgeübt.")
    return revocations.revocation_decide(application_id=application.pk, by=kwargs.pop("by", people.approver), **kwargs)


def repay(application, people, amount, on=TODAY, by=None):
    return revocations.repayment_book(
        application_id=application.pk, by=by or people.finance, received_on=on, amount=D(amount)
    )


def shares_exact(application):
    """Per share: paid + released = committed, and each booking's parts sum to its amount."""
    figures = case_figures(Allocation.objects.get(), application)
    for entry in LedgerEntry.objects.filter(application=application):
        assert sum(getattr(entry, f"{s}_amount") for s in SHARES) == entry.amount
    return figures


# --- the pure account: interest over base-rate periods, the order of credit ----------------------------------


def test_a_reclaim_account_over_two_base_rate_periods_credits_interest_first():
    # 10,000 € owed from 1 May 2025; 4,000 € come in on 1 September 2025, the rest on 1 November 2025.
    # 1 May – 31 Aug 2025 on 10,000 €: 61 days at 7.27 % + 62 days at 6.27 % (test_interest): 228.00 €.
    # On 1 Sep, 4,000 €: 228.00 € to the interest, 3,772.00 € to the principal: 6,228.00 € left.
    # 1 Sep – 31 Oct 2025 on 6,228 €: 61 days at 6.27 %: 6,228 × 0.0627 × 61/365 = 65.2609… → 65.26 €.
    # On 1 Nov: owed 6,228.00 + 65.26 = 6,293.26 €.
    account = reclaim_account(
        [Tranche(D("10000.00"), date(2025, 5, 1))],
        [(date(2025, 9, 1), D("4000.00"))],
        on=date(2025, 11, 1),
    )
    (credit,) = account.credits
    assert (credit.interest_part, credit.principal_part) == (D("228.00"), D("3772.00"))
    assert account.principal_open == D("6228.00")
    assert account.interest_open == D("65.26") and account.interest_accrued == D("293.26")
    assert account.total_open == D("6293.26")

    # Paid in full that day: nothing is left, and no more interest.
    settled = reclaim_account(
        [Tranche(D("10000.00"), date(2025, 5, 1))],
        [(date(2025, 9, 1), D("4000.00")), (date(2025, 11, 1), D("6293.26"))],
        on=date(2026, 1, 1),
    )
    assert settled.total_open == D("0.00") and settled.credits[-1].interest_part == D("65.26")


def test_principal_first_where_the_programme_says_so_and_an_overpayment_is_refused():
    # Principal first: the 4,000 € of 1 Sep 2025 go to the principal; 6,000 € bear interest on.
    # 1 Sep – 31 Oct on 6,000 €: 6,000 × 0.0627 × 61/365 = 62.8734… → 62.87 €; interest owed 228.00 + 62.87.
    account = reclaim_account(
        [Tranche(D("10000.00"), date(2025, 5, 1))],
        [(date(2025, 9, 1), D("4000.00"))],
        on=date(2025, 11, 1),
        interest_first=False,
    )
    assert account.credits[0].principal_part == D("4000.00") and account.principal_open == D("6000.00")
    assert account.interest_open == D("290.87")
    with pytest.raises(ValueError, match="6.290,87"):
        reclaim_account(
            [Tranche(D("10000.00"), date(2025, 5, 1))],
            [(date(2025, 9, 1), D("4000.00")), (date(2025, 11, 1), D("6290.88"))],
            on=date(2025, 11, 1),
            interest_first=False,
        )


def test_the_money_paid_last_is_repaid_first_and_bears_interest_from_its_payment():
    # Paid 3,000 € on 1 March and 5,000 € on 1 June 2025; 6,000 € to repay, the notice void from 1 January 2025.
    # The 5,000 € of June are repaid first, then 1,000 € of March; neither bears interest before it was paid.
    assert tranches_of(
        D("6000.00"),
        [(date(2025, 3, 1), D("3000.00")), (date(2025, 6, 1), D("5000.00"))],
        effective_from=date(2025, 1, 1),
    ) == [Tranche(D("1000.00"), date(2025, 3, 1)), Tranche(D("5000.00"), date(2025, 6, 1))]
    # Void only from 1 May: the March money bears interest from 1 May.
    assert tranches_of(
        D("6000.00"),
        [(date(2025, 3, 1), D("3000.00")), (date(2025, 6, 1), D("5000.00"))],
        effective_from=date(2025, 5, 1),
    )[0] == Tranche(D("1000.00"), date(2025, 5, 1))


def test_interest_waived_leaves_only_the_principal():
    account = reclaim_account(
        [Tranche(D("10000.00"), date(2025, 5, 1))], [], on=date(2025, 11, 1), interest_waived=True
    )
    assert account.total_open == D("10000.00")


# --- through the services --------------------------------------------------------------------------------


def test_hearing_answer_and_full_revocation_of_a_paid_case_then_the_repayment_closes_it_exactly(
    case, people, django_capture_on_commit_callbacks
):
    application = case("paid")  # 7,200 € approved and paid
    with django_capture_on_commit_callbacks(execute=True):
        revocation = open_case(application, people)
    application.refresh_from_db()
    assert application.open_revocation == revocation and application.state == State.PAID
    hearing = application.letters.get(kind=LetterKind.HEARING)
    words = text_of(hearing)
    assert (
        "§ 28 VwVfG" in words and "7.200,00 €" in words and (TODAY + timedelta(days=28)).strftime("%d.%m.%Y") in words
    )
    assert "Anhörung" in mail.outbox[-1].subject

    # The decision waits for the answer or the deadline.
    with pytest.raises(DomainError, match="Frist zur Äußerung") as refused:
        decide(application, people)
    assert refused.value.status == 409
    answer(application, people)
    with pytest.raises(DomainError, match="schon geäußert"):
        answer(application, people)

    with django_capture_on_commit_callbacks(execute=True):
        decide(application, people, revoked_amount=D("7200.00"))
    application.refresh_from_db()
    revocation.refresh_from_db()
    assert application.state == State.REVOKED and application.approved_grant == D("0.00")
    assert (revocation.outcome, revocation.principal, revocation.decided_by) == (
        Outcome.REVOKED,
        D("7200.00"),
        people.approver,
    )
    assert application.reclaim_outstanding == D("7200.00") and application.open_revocation == revocation
    notice = application.letters.get(kind=LetterKind.REVOCATION)
    words = text_of(notice)
    assert "widerrufen (§ 49 Abs. 3 VwVfG)" in words and "7.200,00 €" in words and "Widerspruch" in words
    assert hasattr(notice, "notice")  # its finality is followed as every notice's

    # 7,200 € back the same day: no interest; per share the reclaim mirrors the payment, and all is released.
    repayment = repay(application, people, "7200.00")
    assert (repayment.principal_part, repayment.interest_part) == (D("7200.00"), D("0.00"))
    application.refresh_from_db()
    revocation.refresh_from_db()
    assert application.paid_amount == D("0.00") and application.reclaim_outstanding == D("0.00")
    assert application.open_revocation is None and revocation.settled_at is not None
    figures = shares_exact(application)
    assert figures.paid == dict.fromkeys(SHARES, 0) and figures.committed == dict.fromkeys(SHARES, 0)
    payment = LedgerEntry.objects.get(application=application, kind="payment")
    reclaim = LedgerEntry.objects.get(application=application, kind="reclaim")
    assert [getattr(reclaim, f"{s}_amount") for s in SHARES] == [getattr(payment, f"{s}_amount") for s in SHARES]


def test_partial_revocation_after_a_partial_payment_reclaims_the_excess_and_releases_the_rest(case, people):
    # 7,200 € approved; a partial payment of 5,760 € (80 %); then the grant is cut by 3,000 € to 4,200 €.
    application = case("approved")
    invoice = record(application, people, number="R-1", net="35294.12", vat="6705.88")
    certify(application, people, invoice)
    services.partial_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    assert application.paid_amount == D("5760.00")

    open_case(application, people, reason=Revocation.Reason.NOT_FINISHED, intended_amount=D("3000.00"))
    # While the case is open, no money moves.
    with pytest.raises(DomainError, match="Widerrufsverfahren"):
        services.application_certify_invoices(application_id=application.pk, by=people.caseworker)
    answer(application, people)
    decide(application, people, revoked_amount=D("3000.00"))
    application.refresh_from_db()
    revocation = Revocation.objects.get()
    assert application.state == State.APPROVED and application.approved_grant == D("4200.00")
    # Paid 5,760 €, the grant left 4,200 €: 1,560 € to repay; the 1,440 € committed and not paid are released.
    assert revocation.principal == D("1560.00") and application.reclaim_outstanding == D("1560.00")
    release = LedgerEntry.objects.filter(application=application, kind="release").get()
    assert release.amount == D("1440.00")
    figures = shares_exact(application)
    assert sum(figures.committed.values()) == 576000 and sum(figures.paid.values()) == 576000

    repay(application, people, "1000.00")
    repay(application, people, "560.00")
    application.refresh_from_db()
    assert application.paid_amount == D("4200.00") and application.open_revocation is None
    figures = shares_exact(application)
    assert figures.paid == figures.committed and sum(figures.paid.values()) == 420000
    # The case goes on on the grant left: the final payment pays nothing more and closes the ledger.
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker)
    services.application_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    assert application.state == State.PAID and application.paid_amount == D("4200.00")
    figures = shares_exact(application)
    assert figures.paid == figures.committed


def test_full_revocation_of_an_approved_case_with_nothing_paid_releases_everything(case, people):
    application = case("approved")
    open_case(application, people, reason=Revocation.Reason.NOT_FINISHED)
    answer(application, people)
    decide(application, people, revoked_amount=D("7200.00"), outcome=Outcome.WITHDRAWN, due_on=None)
    application.refresh_from_db()
    revocation = Revocation.objects.get()
    assert application.state == State.REVOKED and revocation.principal == D("0.00")
    assert revocation.settled_at is not None and application.open_revocation is None
    figures = shares_exact(application)
    assert figures.committed == dict.fromkeys(SHARES, 0)


def test_only_interest_for_late_use(case, people, django_capture_on_commit_callbacks):
    # 5,760 € paid on 1 March 2025 and used only on 1 July 2025 (four months): § 49a (4) VwVfG.
    # 1 Mar – 30 Jun 2025: 122 days at 2.27 + 5 = 7.27 %: 5,760 × 0.0727 × 122/365 = 139.9654… → 139.97 €.
    application = case("paid")
    open_case(application, people, reason=Revocation.Reason.LATE_USE, intended_amount=D("0.00"))
    answer(application, people)
    with django_capture_on_commit_callbacks(execute=True):
        decide(
            application,
            people,
            outcome=Outcome.INTEREST,
            effective_from=None,
            late_use_amount=D("5760.00"),
            late_use_from=date(2025, 3, 1),
            late_use_until=date(2025, 7, 1),
        )
    revocation = Revocation.objects.get()
    application.refresh_from_db()
    assert revocation.late_use_interest == D("139.97") and revocation.principal == D("0.00")
    assert application.state == State.PAID and application.approved_grant == D("7200.00")
    assert "139,97 €" in text_of(application.letters.get(kind=LetterKind.REVOCATION))
    repayment = repay(application, people, "139.97")
    assert (repayment.interest_part, repayment.principal_part) == (D("139.97"), D("0.00"))
    application.refresh_from_db()
    assert application.open_revocation is None
    # Interest never enters the ledger.
    assert not LedgerEntry.objects.filter(application=application, kind="reclaim").exists()


def test_late_use_within_two_months_is_no_late_use(case, people):
    application = case("paid")
    open_case(application, people)
    answer(application, people)
    with pytest.raises(DomainError, match="alsbald") as refused:
        decide(
            application,
            people,
            outcome=Outcome.INTEREST,
            late_use_amount=D("1000.00"),
            late_use_from=date(2025, 3, 1),
            late_use_until=date(2025, 4, 30),
        )
    assert refused.value.status == 409  # the input is well formed; the law gives nothing for it


def test_interest_runs_to_the_receipt_and_a_missing_base_rate_is_named(case, people):
    # Revoked in full from today; 1,000 € come in 45 days later. The base rate for a half-year not on record stops
    # the booking with the words of what to add; once added, the interest is that of 7,200 € for the 45 days.
    application = case("paid")
    open_case(application, people)
    answer(application, people)
    decide(application, people, revoked_amount=D("7200.00"))
    later = TODAY + timedelta(days=45)
    halves = sorted({date(d.year, 1 if d.month < 7 else 7, 1) for d in (TODAY, later)})
    BaseRate.objects.filter(valid_from__in=halves).delete()
    with mock.patch("grants.revocations.today", return_value=later):
        with pytest.raises(DomainError, match="kein Basiszinssatz hinterlegt.*add_base_rate") as refused:
            repay(application, people, "1000.00", on=later)
        assert refused.value.status == 409 and not Repayment.objects.exists()
        for start in halves:
            # A rate for the test only: the one to keep is the Bundesbank's, added with the same command.
            call_command("add_base_rate", start.isoformat(), "1.27", stdout=StringIO())
        repayment = repay(application, people, "1000.00", on=later)
    # 7,200 € × 6.27 % × 45 days, each day over the days of its calendar year, rounded once.
    by_hand = sum(
        Fraction(720000, 100) * Fraction(627, 10000) / (366 if calendar.isleap(day.year) else 365)
        for day in (TODAY + timedelta(days=n) for n in range(45))
    )
    expected = (Decimal(by_hand.numerator) / Decimal(by_hand.denominator)).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert repayment.interest_part == expected and repayment.principal_part == D("1000.00") - expected


def test_close_without_revocation_and_the_second_person(case, people, django_capture_on_commit_callbacks):
    application = case("paid")
    both = UserFactory(roles=["caseworker", "approver"], municipalities=[application.programme.municipality])
    revocation = open_case(application, people, by=both)
    answer(application, people)
    # Whoever opened it may neither decide nor close it.
    for step in (
        lambda: revocations.revocation_close(application_id=application.pk, by=both, comment="x"),
        lambda: decide(application, people, by=both, revoked_amount=D("10.00")),
    ):
        with pytest.raises(DomainError, match="andere Person") as refused:
            step()
        assert refused.value.status == 403
    with pytest.raises(DomainError, match="begründen"):
        revocations.revocation_close(application_id=application.pk, by=people.approver, comment=" ")
    with django_capture_on_commit_callbacks(execute=True):
        revocations.revocation_close(
            application_id=application.pk, by=people.approver, comment="Der Käufer übernimmt die Zweckbindung."
        )
    revocation.refresh_from_db()
    application.refresh_from_db()
    assert revocation.outcome == Outcome.CLOSED and application.open_revocation is None
    assert application.state == State.PAID
    assert "stellen wir ein" in text_of(application.letters.get(kind=LetterKind.REVOCATION_CLOSED))
    # A new case may be opened after.
    open_case(application, people)


def test_refusals_by_role_and_state(case, people):
    draft = case("submitted")
    with pytest.raises(DomainError) as refused:
        open_case(draft, people)
    assert refused.value.status == 409 and "bewilligten oder ausgezahlten" in str(refused.value)
    application = case("paid")
    for user in (people.owner, people.approver, people.finance, people.auditor):
        with pytest.raises(DomainError) as refused:
            open_case(application, people, by=user)
        assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:
        open_case(application, people, by=people.foreign_caseworker)
    assert refused.value.status == 404
    open_case(application, people)
    with pytest.raises(DomainError) as refused:
        open_case(application, people)
    assert refused.value.status == 409
    with pytest.raises(DomainError) as refused:
        revocations.hearing_answer(application_id=application.pk, by=people.other_owner, answer="x")
    assert refused.value.status == 404
    answer(application, people)
    for user in (people.caseworker, people.finance, people.auditor, people.owner):
        with pytest.raises(DomainError) as refused:
            decide(application, people, by=user, revoked_amount=D("100.00"))
        assert refused.value.status == 403
    # No repayment before the decision, none by whoever decided.
    with pytest.raises(DomainError, match="keine Erstattung"):
        repay(application, people, "1.00")
    both = UserFactory(roles=["approver", "finance"], municipalities=[application.programme.municipality])
    decide(application, people, by=both, revoked_amount=D("100.00"))
    with pytest.raises(DomainError, match="andere Person") as refused:
        repay(application, people, "1.00", by=both)
    assert refused.value.status == 403
    for user in (people.caseworker, people.approver, people.auditor, people.owner):
        with pytest.raises(DomainError) as refused:
            repay(application, people, "1.00", by=user)
        assert refused.value.status == 403
    repay(application, people, "100.00")


def test_bad_input_is_refused_with_every_reason_and_nothing_written(case, people):
    application = case("paid")
    before = StateLog.objects.count()
    with pytest.raises(DomainError) as refused:
        revocations.revocation_open(
            application_id=application.pk,
            by=people.caseworker,
            reason="nonsense",
            facts=" ",
            hearing_deadline=TODAY + timedelta(days=3),
            intended_amount="9999999.00",
        )
    assert refused.value.status == 400 and len(refused.value.reasons) == 4
    assert not Revocation.objects.exists() and StateLog.objects.count() == before
    open_case(application, people)
    answer(application, people)
    with pytest.raises(DomainError) as refused:
        decide(application, people, revoked_amount=D("8000.00"), effective_from=date(2000, 1, 1), due_on=TODAY)
    # Well formed, but beyond what the case and today allow: a conflict, with every reason.
    assert refused.value.status == 409 and len(refused.value.reasons) == 3
    decide(application, people, revoked_amount=D("200.00"))
    with pytest.raises(DomainError) as refused:
        repay(application, people, "200.01")
    assert refused.value.status == 409 and "höher als die offene Forderung" in str(refused.value)
    with pytest.raises(DomainError) as refused:
        repay(application, people, "10.00", on=TODAY + timedelta(days=1))
    assert refused.value.status == 409 and "in der Zukunft" in str(refused.value)
    with pytest.raises(DomainError) as refused:
        repay(application, people, "0.00")
    assert refused.value.status == 400
    assert not Repayment.objects.exists()


def test_a_failing_ledger_leaves_nothing_booked(case, people):
    application = case("paid")
    open_case(application, people)
    answer(application, people)
    decide(application, people, revoked_amount=D("7200.00"))
    before = (list(LedgerEntry.objects.values()), StateLog.objects.count())
    with (
        mock.patch("grants.revocations.ledger_release", side_effect=RuntimeError("Datenbank weg")),
        pytest.raises(RuntimeError),
    ):
        repay(application, people, "7200.00")
    assert (list(LedgerEntry.objects.values()), StateLog.objects.count()) == before
    assert not Repayment.objects.exists()
    application.refresh_from_db()
    assert application.paid_amount == D("7200.00") and application.reclaim_outstanding == D("7200.00")


def test_withdrawing_during_the_hearing_ends_the_revocation_case(case, people):
    application = case("approved")
    revocation = open_case(application, people)
    services.application_withdraw(application_id=application.pk, by=people.owner)
    revocation.refresh_from_db()
    application.refresh_from_db()
    assert application.state == State.WITHDRAWN and revocation.outcome == Outcome.ENDED
    assert application.open_revocation is None


def test_a_reminder_after_the_due_day(case, people, django_capture_on_commit_callbacks):
    application = case("paid")
    open_case(application, people)
    answer(application, people)
    decide(application, people, revoked_amount=D("7200.00"), interest_waived=True)
    with pytest.raises(DomainError, match="noch nicht fällig"):
        revocations.reclaim_remind(application_id=application.pk, by=people.finance)
    with (
        mock.patch("grants.models.timezone.localdate", return_value=TODAY + timedelta(days=31)),
        mock.patch("grants.revocations.today", return_value=TODAY + timedelta(days=31)),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            revocations.reclaim_remind(application_id=application.pk, by=people.finance)
        with pytest.raises(DomainError, match="schon erinnert"):
            revocations.reclaim_remind(application_id=application.pk, by=people.finance)
    letter = application.letters.get(kind=LetterKind.RECLAIM_REMINDER)
    assert "7.200,00 €" in text_of(letter)
    assert Revocation.objects.get().reminders == 1


# --- through the workspace, the portal and the API ------------------------------------------------------------


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_workspace_and_the_portal_carry_a_revocation_from_hearing_to_repayment(
    case, people, django_capture_on_commit_callbacks
):
    application = case("paid")
    page = reverse("workspace:application", args=[application.pk])
    assert "Widerrufsverfahren eröffnen" in web(people.caseworker).get(page).content.decode()
    assert "Widerrufsverfahren eröffnen" not in web(people.finance).get(page).content.decode()

    new = reverse("workspace:revocation_new", args=[application.pk])
    form = web(people.caseworker).get(new)
    assert form.status_code == 200 and "Frist zur Äußerung" in form.content.decode()
    # A deadline too short and no facts: the form says both, nothing is written.
    refused = web(people.caseworker).post(new, {"reason": "sale", "facts": "", "hearing_deadline": "01.01.2020"})
    assert refused.status_code == 400 and not Revocation.objects.exists()
    assert "Sachverhalt" in refused.content.decode()
    deadline = (TODAY + timedelta(days=21)).strftime("%d.%m.%Y")
    with django_capture_on_commit_callbacks(execute=True):
        done = web(people.caseworker).post(
            new,
            {"reason": "sale", "facts": "Verkauf am 1. Oktober", "hearing_deadline": deadline, "intended_amount": ""},
        )
    assert done.status_code == 302 and Revocation.objects.get().intended_amount == D("7200.00")
    # The finance role may not open one: 403 on the page.
    assert web(people.finance).get(new).status_code == 403

    portal = web(people.owner).get(reverse("portal:application", args=[application.pk])).content.decode()
    assert "Zur Anhörung äußern" in portal and deadline in portal
    answer_url = reverse("portal:answer_hearing", args=[application.pk])
    assert web(people.owner).post(answer_url, {"answer": " "}).status_code == 400
    assert web(people.owner).post(answer_url, {"answer": "Der Käufer führt die Zweckbindung fort."}).status_code == 302
    assert Revocation.objects.get().answer == "Der Käufer führt die Zweckbindung fort."
    assert web(people.other_owner).get(answer_url).status_code == 404

    decision = reverse("workspace:revocation_decision", args=[application.pk])
    assert web(people.caseworker).get(decision).status_code == 403
    shown = web(people.approver).get(decision)
    assert shown.status_code == 200 and "Der Käufer führt die Zweckbindung fort." in shown.content.decode()
    data = {
        "outcome": "revoked",
        "revoked_amount": "2.000,00",
        "effective_from": TODAY.strftime("%d.%m.%Y"),
        "due_on": (TODAY + timedelta(days=30)).strftime("%d.%m.%Y"),
        "comment": "",
    }
    assert web(people.approver).post(decision, data).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            web(people.approver).post(decision, {**data, "comment": "Teilweise: Zweckbindung 4 Jahre"}).status_code
            == 302
        )
    application.refresh_from_db()
    assert application.approved_grant == D("5200.00") and application.reclaim_outstanding == D("2000.00")
    shown = web(people.finance).get(page).content.decode()
    assert "Offene Erstattung" in shown and "Rückzahlung buchen" in shown

    repayment = reverse("workspace:repayment_new", args=[application.pk])
    refused = web(people.finance).post(repayment, {"received_on": TODAY.strftime("%d.%m.%Y"), "amount": "2.500,00"})
    assert refused.status_code == 409 and "höher als die offene Forderung" in refused.content.decode()
    assert web(people.approver).post(repayment, {"received_on": TODAY.isoformat(), "amount": "1,00"}).status_code == 403
    done = web(people.finance).post(repayment, {"received_on": TODAY.strftime("%d.%m.%Y"), "amount": "2.000,00"})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.open_revocation is None and application.paid_amount == D("5200.00")
    assert (
        "Widerrufsverfahren"
        in web(people.owner).get(reverse("portal:application", args=[application.pk])).content.decode()
    )


def test_the_api_opens_answers_decides_and_books(case, people):
    application = case("paid")
    base = f"/api/applications/{application.pk}"
    body = {
        "reason": "conditions",
        "facts": "Auflage Nr. 2 nicht erfüllt",
        "hearing_deadline": str(TODAY + timedelta(days=15)),
    }
    assert api(people.approver).post(f"{base}/open-revocation/", body, format="json").status_code == 403
    too_short = {**body, "hearing_deadline": str(TODAY + timedelta(days=3))}
    answer_ = api(people.caseworker).post(f"{base}/open-revocation/", too_short, format="json")
    assert answer_.status_code == 409 and "zwei Wochen" in str(answer_.json())
    assert api(people.caseworker).post(f"{base}/open-revocation/", body, format="json").status_code == 200
    assert api(people.caseworker).post(f"{base}/open-revocation/", body, format="json").status_code == 409
    # Before the answer or the deadline: 409 with the reason.
    decision = {"outcome": "withdrawn", "revoked_amount": "7200.00", "effective_from": str(TODAY),
                "due_on": str(TODAY + timedelta(days=30)), "comment": "Rücknahme: falsche Angaben"}  # fmt: skip
    early = api(people.approver).post(f"{base}/decide-revocation/", decision, format="json")
    assert early.status_code == 409 and "Frist zur Äußerung" in str(early.json())
    assert (
        api(people.owner).post(f"{base}/answer-hearing/", {"answer": "Stimmt nicht."}, format="json").status_code == 200
    )
    shown = api(people.approver).post(f"{base}/decide-revocation/", decision, format="json")
    assert shown.status_code == 200 and shown.json()["state"] == "revoked"
    (revocation,) = shown.json()["revocations"]
    assert revocation["outcome"] == "withdrawn" and revocation["principal"] == "7200.00"
    booked = api(people.finance).post(
        f"{base}/book-repayment/", {"received_on": str(TODAY), "amount": "7200.00"}, format="json"
    )
    assert booked.status_code == 201 and booked.json()["revocations"][0]["repayments"][0]["principal_part"] == "7200.00"
    assert booked.json()["paid_amount"] == "0.00" and booked.json()["open_revocation"] is None
    again = api(people.finance).post(
        f"{base}/book-repayment/", {"received_on": str(TODAY), "amount": "1.00"}, format="json"
    )
    assert again.status_code == 409


def test_the_case_page_reads_revocations_in_a_fixed_number_of_queries(case, people, django_assert_max_num_queries):
    application = case("paid")
    open_case(application, people)
    answer(application, people)
    decide(application, people, revoked_amount=D("100.00"), interest_waived=True)
    for amount in ("10.00", "20.00", "30.00"):
        repay(application, people, amount)
    client = web(people.finance)
    page = reverse("workspace:application", args=[application.pk])
    client.get(page)
    with CaptureQueriesContext(connection) as three:
        assert client.get(page).status_code == 200
    repay(application, people, "40.00")  # settles it
    open_case(application, people)
    with CaptureQueriesContext(connection) as more:
        assert client.get(page).status_code == 200
    assert len(more) <= len(three) + 2  # the open hearing shows; the rows of repayments and cases cost nothing more


def test_the_statement_shows_reclaims_per_share_and_the_interest_apart(case, people, programme):
    # A full revocation repaid, and 139.97 € of interest for late use (test_only_interest_for_late_use's figure).
    application = case("paid")
    open_case(application, people)
    answer(application, people)
    decide(
        application,
        people,
        revoked_amount=D("7200.00"),
        interest_waived=True,
        late_use_amount=D("5760.00"),
        late_use_from=date(2025, 3, 1),
        late_use_until=date(2025, 7, 1),
    )
    repay(application, people, "7339.97")  # interest first: 139.97 €, then 7,200.00 €
    (repayment,) = Repayment.objects.all()
    assert (repayment.interest_part, repayment.principal_part) == (D("139.97"), D("7200.00"))
    target = BytesIO()
    write_statement([programme], application.budget_year, target, narrative="Bericht")
    rows = [list(r) for r in load_workbook(BytesIO(target.getvalue()))["Übersicht"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] == "Rückforderungen (§ 49a VwVfG)")
    lines = {r[0]: (D(str(r[1])), D(str(r[2]))) for r in rows[start + 1 : start + 6]}
    reclaim = LedgerEntry.objects.get(kind="reclaim")
    for share, label in (("federal", "Bund"), ("state", "Land"), ("municipal", "Kommune"), ("private", "Private")):
        assert lines[label][0] == getattr(reclaim, f"{share}_amount")
    assert lines["Summe"] == (D("7200.00"), D("139.97"))
    assert sum(v[1] for k, v in lines.items() if k != "Summe") == D("139.97")  # split to the cent
    # The allocation is untouched by the interest: paid is back to nothing, the commitment released.
    assert sum(case_figures(Allocation.objects.get(), application).paid.values()) == 0


def test_a_settled_revoked_case_is_exported_and_later_anonymised(case, people):
    from grants.personal_data import personal_data
    from grants.privacy import application_anonymise, closed_applications

    application = case("paid")
    open_case(application, people)
    answer(application, people, "Meine Gründe stehen hier.")
    decide(application, people, revoked_amount=D("7200.00"))
    # While the reclaim is open, the case is not closed: its data stay.
    assert application.pk not in set(closed_applications().values_list("pk", flat=True))
    repay(application, people, "7200.00")
    assert application.pk in set(closed_applications().values_list("pk", flat=True))
    (exported,) = [a for a in personal_data(applicant=people.alice)["antraege"] if a["id"] == application.pk]
    (revocation,) = exported["widerrufsverfahren"]
    assert (
        revocation["aeusserung"] == "Meine Gründe stehen hier."
        and revocation["rueckzahlungen"][0]["betrag"] == "7200.00"
    )
    application_anonymise(application_id=application.pk)
    row = Revocation.objects.get()
    assert (row.facts, row.answer, row.decision_comment) == ("[anonymisiert]", "", "")
    assert row.principal == D("7200.00") and row.reason == Revocation.Reason.SALE
