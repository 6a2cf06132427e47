"""The state's funding notice to the town and the drawdown of its funds (Mittelabruf), told as access stories.

Musterstadt's allocation (100,000 € this year; Bund 33.34 %, Land 33.33 %, Kommune 33.33 %) stands on the notice
of the Bezirksregierung Köln; Alice's case of 7,200 € is committed against it. Fiona (finance) requests the funds
the payments made or due within two months need (Nr. 1.4 ANBest-K); Kai, a second finance person, records what
comes in.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets.models import (
    SHARES,
    Allocation,
    Drawdown,
    DrawdownIsAppendOnly,
    DrawdownReceipt,
    LedgerEntry,
    StateNotice,
    StateTranche,
)
from budgets.notices import TrancheInput, allocation_link_state_notice, state_notice_create
from budgets.shares import to_cents
from core.errors import DomainError
from grants import services
from grants.drawdowns import drawdown_proposal, drawdown_receive, drawdown_request
from grants.models import GrantApplication
from grants.services import ComponentInput, CostInput

from ..factories import AllocationFactory, MunicipalityFactory, ProgrammeFactory, UserFactory, advance, make_application

pytestmark = pytest.mark.django_db

TODAY = date.today()
YEAR = TODAY.year
# Final invoices of 10,000 € gross: the grant payable is 5,000 € of the 7,200 € committed.
LOWER_INVOICES = [
    ComponentInput("facade", Decimal("180"), (CostInput("Schlussrechnung", Decimal("8403.36"), Decimal("1596.64")),))
]


def record_notice(municipality, by, **overrides):
    terms = {
        "municipality_id": municipality.pk,
        "number": "34.2-17/2026",
        "issued_on": date(YEAR, 1, 15),
        "funding_body": "Bezirksregierung Köln",
        "eligible_total": Decimal("250000.00"),
        "shares": {"federal": Fraction("0.3334"), "state": Fraction("0.3333"), "municipal": Fraction("0.3333")},
        "period_start": date(YEAR, 1, 1),
        "period_end": date(YEAR + 2, 12, 31),
        "tranches": [TrancheInput(YEAR, Decimal("100000.00")), TrancheInput(YEAR + 1, Decimal("150000.00"))],
    }
    return state_notice_create(by=by, **{**terms, **overrides})


@pytest.fixture
def notice(musterstadt, people, allocation):
    notice = record_notice(musterstadt, people.finance)
    allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=people.finance)
    return notice


@pytest.fixture
def kai(musterstadt):
    """A second person in finance: the receipt of Fiona's drawdown is Kai's to record."""
    return UserFactory(username="kai", roles=["finance"], municipalities=[musterstadt])


def approved_due_on(case, deadline: date, **kwargs) -> GrantApplication:
    application = case("approved", **kwargs)
    GrantApplication.objects.filter(pk=application.pk).update(invoice_deadline=deadline)
    application.refresh_from_db()
    return application


def shares_of(entries) -> dict[str, int]:
    return {s: sum(to_cents(getattr(e, f"{s}_amount")) for e in entries) for s in SHARES}


def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# --- the notice and the allocations on it ------------------------------------------------------


def test_finance_records_a_notice_with_its_cash_per_year(notice, allocation):
    assert notice.shares == allocation.shares
    assert [(t.year, t.amount) for t in notice.tranches.order_by("year")] == [
        (YEAR, Decimal("100000.00")),
        (YEAR + 1, Decimal("150000.00")),
    ]
    assert list(notice.allocations.all()) == [allocation]


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"shares": {"federal": Fraction(1, 2), "state": Fraction(1, 3)}}, "genau 1"),
        ({"period_end": date(YEAR - 1, 12, 31)}, "endet nicht vor seinem Beginn"),
        ({"tranches": [TrancheInput(YEAR + 3, Decimal("10.00"))]}, "außerhalb des Bewilligungszeitraums"),
        (
            {"tranches": [TrancheInput(YEAR, Decimal("200000.00")), TrancheInput(YEAR + 1, Decimal("50000.01"))]},
            "mehr als die 250.000,00 €",
        ),
        ({"tranches": [TrancheInput(YEAR, Decimal("1.00")), TrancheInput(YEAR, Decimal("1.00"))]}, "doppelt"),
        ({"eligible_total": Decimal("0.00")}, "zuwendungsfähige Ausgaben: "),
    ],
)
def test_a_notice_that_does_not_add_up_is_refused_and_nothing_is_written(musterstadt, people, overrides, words):
    with pytest.raises(DomainError) as refused:
        record_notice(musterstadt, people.finance, **overrides)
    assert refused.value.status == 400 and words in str(refused.value)
    assert not StateNotice.objects.exists() and not StateTranche.objects.exists()


def test_a_notice_number_is_unique_per_town_only(musterstadt, people):
    record_notice(musterstadt, people.finance)
    with pytest.raises(DomainError) as refused:
        record_notice(musterstadt, people.finance)
    assert refused.value.status == 400 and "Aktenzeichen" in str(refused.value)
    neighbour = MunicipalityFactory(name="Nachbarstadt")
    neighbour.staff.add(people.finance)
    people.finance.__dict__.pop("municipality_ids", None)
    assert record_notice(neighbour, people.finance).number == "34.2-17/2026"


@pytest.mark.parametrize("role", ["caseworker", "approver", "auditor", "foreign_caseworker", "owner"])
def test_only_finance_of_the_town_records_a_notice(musterstadt, people, role):
    with pytest.raises(DomainError) as refused:
        record_notice(musterstadt, getattr(people, role))
    assert refused.value.status == (404 if role in ("foreign_caseworker", "owner") else 403)
    assert not StateNotice.objects.exists()


def test_an_allocation_on_the_notice_has_its_shares_its_period_and_stays_within_its_total(musterstadt, people, notice):
    programme = ProgrammeFactory(municipality=musterstadt, name="Hofprogramm", code="HP")
    other_shares = AllocationFactory(programme=programme, federal_percent=Decimal("50"), state_percent=Decimal("50"),
                                     municipal_percent=Decimal("0"))  # fmt: skip
    too_late = AllocationFactory(programme=programme, year=YEAR + 3)
    too_much = AllocationFactory(programme=programme, year=YEAR + 1, amount=Decimal("150000.01"))
    for allocation, words in [
        (other_shares, "Förderanteile der Mittelausstattung"),
        (too_late, "außerhalb des Bewilligungszeitraums"),
        (too_much, "250.000,01 €"),
    ]:
        with pytest.raises(DomainError) as refused:
            allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=people.finance)
        assert refused.value.status == 409 and words in str(refused.value), words
        allocation.state_notice = notice
        with pytest.raises(ValidationError) as invalid:
            allocation.full_clean()
        assert words in " ".join(invalid.value.message_dict["state_notice"])
    exactly = AllocationFactory(programme=programme, year=YEAR + 2, amount=Decimal("150000.00"))
    allocation_link_state_notice(allocation_id=exactly.pk, notice_id=notice.pk, by=people.finance)
    assert notice.allocations.count() == 2
    assert set(Allocation.objects.filter(state_notice__isnull=True)) == {other_shares, too_late, too_much}


def test_another_towns_notice_is_refused_in_the_model_and_not_found_in_the_service(people, notice):
    nachbarstadt = MunicipalityFactory(name="Nachbarstadt")
    foreign = AllocationFactory(programme=ProgrammeFactory(municipality=nachbarstadt, code="NB"))
    foreign.state_notice = notice
    with pytest.raises(ValidationError) as invalid:
        foreign.full_clean()
    assert "anderen Kommune" in " ".join(invalid.value.message_dict["state_notice"])
    olga_finance = UserFactory(username="nora", roles=["finance"], municipalities=[nachbarstadt])
    with pytest.raises(DomainError) as refused:
        allocation_link_state_notice(allocation_id=foreign.pk, notice_id=notice.pk, by=olga_finance)
    assert refused.value.status == 404


@pytest.mark.parametrize("role", ["caseworker", "approver", "auditor"])
def test_only_finance_links_an_allocation_to_a_notice(people, allocation, musterstadt, role):
    notice = record_notice(musterstadt, people.finance)
    with pytest.raises(DomainError) as refused:
        allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=getattr(people, role))
    assert refused.value.status == 403
    allocation.refresh_from_db()
    assert allocation.state_notice is None


def test_the_allocation_api_links_a_notice_and_answers_another_towns_like_an_unknown_one(people, allocation):
    own = record_notice(allocation.programme.municipality, people.finance)
    nachbarstadt = MunicipalityFactory(name="Nachbarstadt")
    nora = UserFactory(username="nora", roles=["finance"], municipalities=[nachbarstadt])
    foreign = record_notice(nachbarstadt, nora)
    url = f"/api/allocations/{allocation.pk}/"
    answers = {
        notice_id: api(people.finance).patch(url, {"state_notice": notice_id}, format="json")
        for notice_id in (foreign.pk, 10**9)
    }
    assert [a.status_code for a in answers.values()] == [400, 400]
    # The same words for another town's notice as for one that does not exist, but for the id typed.
    words = [a.json()["fields"]["state_notice"][0].replace(str(notice_id), "ID") for notice_id, a in answers.items()]
    assert words[0] == words[1]
    linked = api(people.finance).patch(url, {"state_notice": own.pk}, format="json")
    assert linked.status_code == 200 and linked.json()["state_notice"] == own.pk
    assert api(people.caseworker).patch(url, {"state_notice": None}, format="json").status_code == 403
    allocation.refresh_from_db()
    assert allocation.state_notice == own


def test_the_drawdown_months_are_a_setting_within_a_year(musterstadt):
    assert musterstadt.drawdown_months == 2
    musterstadt.drawdown_months = 13
    with pytest.raises(ValidationError):
        musterstadt.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(musterstadt).objects.filter(pk=musterstadt.pk).update(drawdown_months=0)


# --- the proposal ------------------------------------------------------------------------------


def test_a_case_whose_invoice_deadline_is_exactly_two_months_away_is_due_one_day_later_is_not(case, notice):
    window_end = TODAY + relativedelta(months=2)
    on_the_day = approved_due_on(case, window_end)
    approved_due_on(case, window_end + timedelta(days=1), area="150")
    proposal = drawdown_proposal(notice, on=TODAY)
    assert proposal.until == window_end
    assert [c.application for c in proposal.cases] == [on_the_day]
    committed = shares_of(LedgerEntry.objects.filter(application=on_the_day))
    assert proposal.due == committed and sum(committed.values()) == 720000
    assert proposal.made == dict.fromkeys(SHARES, 0)
    assert proposal.may_request == {"federal": committed["federal"], "state": committed["state"]}
    # A day later the second case is due too.
    later = drawdown_proposal(notice, on=TODAY + timedelta(days=1))
    assert len(later.cases) == 2


def test_a_longer_window_of_the_municipality_takes_in_later_deadlines(case, notice, musterstadt):
    approved_due_on(case, TODAY + relativedelta(months=3))
    assert not drawdown_proposal(notice, on=TODAY).cases
    musterstadt.drawdown_months = 3
    musterstadt.save()
    notice.refresh_from_db()
    notice.municipality.refresh_from_db()
    assert len(drawdown_proposal(notice, on=TODAY).cases) == 1


def test_a_certified_case_is_due_with_its_payable_rest_split_exactly_within_its_open_commitment(case, people, notice):
    application = approved_due_on(case, TODAY + relativedelta(years=1))
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=LOWER_INVOICES)
    application.refresh_from_db()
    proposal = drawdown_proposal(notice, on=TODAY)
    (due,) = proposal.cases
    assert due.certified and due.amount == application.payable_amount == Decimal("5000.00")
    committed = shares_of(LedgerEntry.objects.filter(application=application))
    assert all(0 <= due.parts[s] <= committed[s] for s in SHARES)
    assert sum(proposal.due.values()) == 500000
    # Paid, the case leaves what is due and comes in as made: the same shares, to the cent, as the ledger booked.
    services.application_pay(application_id=application.pk, by=people.finance)
    after = drawdown_proposal(notice, on=TODAY)
    paid = shares_of(LedgerEntry.objects.filter(application=application, kind=LedgerEntry.Kind.PAYMENT))
    assert not after.cases and after.made == paid and sum(paid.values()) == 500000


def test_made_counts_payments_less_reclaims_per_share_exactly_and_only_on_the_notices_allocations(
    case, people, notice, musterstadt
):
    paid = case("paid")
    other = ProgrammeFactory(municipality=musterstadt, name="Hofprogramm", code="HP")
    AllocationFactory(programme=other)  # not on the notice
    advance(make_application(programme=other, applicant=people.alice), "paid", people)
    proposal = drawdown_proposal(notice, on=TODAY)
    assert proposal.made == shares_of(LedgerEntry.objects.filter(application=paid, kind="payment"))
    assert sum(proposal.made.values()) == to_cents(paid.paid_amount)


def test_drawdowns_and_the_proposal_add_up_to_the_cent_per_share(case, people, notice, kai):
    case("paid")
    approved_due_on(case, TODAY, area="151")
    first = drawdown_proposal(notice, on=TODAY)
    whole = {s: first.made[s] + first.due[s] for s in ("federal", "state")}
    # Three drawdowns of odd amounts, then the rest: per share exactly what was made and due.
    requested = {"federal": 0, "state": 0}
    for federal, state in [("1000.01", "999.99"), ("0.01", "0"), ("0", "1234.57")]:
        drawdown = drawdown_request(
            notice_id=notice.pk, by=people.finance, federal=Decimal(federal), state=Decimal(state)
        )
        requested["federal"] += to_cents(drawdown.federal_amount)
        requested["state"] += to_cents(drawdown.state_amount)
        proposal = drawdown_proposal(notice, on=TODAY)
        assert {s: proposal.may_request[s] + requested[s] for s in requested} == whole
    rest = drawdown_proposal(notice, on=TODAY).may_request
    last = drawdown_request(
        notice_id=notice.pk,
        by=people.finance,
        federal=Decimal(rest["federal"]) / 100,
        state=Decimal(rest["state"]) / 100,
    )
    assert [d.number for d in Drawdown.objects.filter(notice=notice)] == [1, 2, 3, 4] and last.number == 4
    assert drawdown_proposal(notice, on=TODAY).may_request == {"federal": 0, "state": 0}
    assert shares_of_drawdowns(notice) == whole


def shares_of_drawdowns(notice) -> dict[str, int]:
    drawdowns = Drawdown.objects.filter(notice=notice)
    return {s: sum(to_cents(getattr(d, f"{s}_amount")) for d in drawdowns) for s in ("federal", "state")}


# --- the request -------------------------------------------------------------------------------


def test_a_request_above_the_proposal_is_refused_naming_the_rule_and_the_figure(case, people, notice):
    case("paid")
    may = drawdown_proposal(notice, on=TODAY).may_request
    with pytest.raises(DomainError) as refused:
        drawdown_request(
            notice_id=notice.pk, by=people.finance, federal=Decimal(may["federal"] + 1) / 100, state=Decimal("0")
        )
    message = str(refused.value)
    assert refused.value.status == 409 and "Nr. 1.4 ANBest-K" in message and "2 Monaten" in message
    assert "höchstens 2.400,48 €" in message and "Bund" in message
    assert not Drawdown.objects.exists()


@pytest.mark.parametrize(
    "federal, state, words",
    [("0", "0", "über 0"), ("-1", "5", "mindestens 0"), ("0.001", "0", "Cent"), (None, None, "über 0")],
)
def test_a_request_of_nothing_or_of_no_amount_is_bad_input(case, people, notice, federal, state, words):
    case("paid")
    with pytest.raises(DomainError) as refused:
        drawdown_request(
            notice_id=notice.pk,
            by=people.finance,
            federal=None if federal is None else Decimal(federal),
            state=None if state is None else Decimal(state),
        )
    assert refused.value.status == 400 and words in str(refused.value)


@pytest.mark.parametrize(
    "role, status",
    [("caseworker", 403), ("approver", 403), ("auditor", 403), ("owner", 404), ("foreign_caseworker", 404)],
)
def test_only_finance_of_the_town_requests_funds(case, people, notice, role, status):
    case("paid")
    with pytest.raises(DomainError) as refused:
        drawdown_request(notice_id=notice.pk, by=getattr(people, role), federal=Decimal("1.00"), state=Decimal("0"))
    assert refused.value.status == status
    assert not Drawdown.objects.exists()


class Injected(RuntimeError):
    pass


def test_a_fault_after_the_drawdown_is_written_leaves_no_row_and_the_retry_goes_through(case, people, notice):
    case("paid")
    original = Drawdown.save

    def written_then_fault(self, *args, **kwargs):
        original(self, *args, **kwargs)
        assert Drawdown.objects.filter(pk=self.pk).exists()  # the row is in, inside the transaction
        raise Injected("after the insert")

    with mock.patch.object(Drawdown, "save", autospec=True, side_effect=written_then_fault), pytest.raises(Injected):
        drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("100.00"), state=Decimal("100.00"))
    assert not Drawdown.objects.exists()
    assert (
        drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("100.00"), state=Decimal("0")).number
        == 1
    )


def test_a_fault_at_the_second_tranche_leaves_neither_the_notice_nor_the_first_tranche(musterstadt, people):
    original = StateTranche.save
    calls = []

    def second_fails(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise Injected("second tranche")
        return original(self, *args, **kwargs)

    with mock.patch.object(StateTranche, "save", autospec=True, side_effect=second_fails), pytest.raises(Injected):
        record_notice(musterstadt, people.finance)
    assert not StateNotice.objects.exists() and not StateTranche.objects.exists()
    assert record_notice(musterstadt, people.finance).tranches.count() == 2


def test_drawdowns_and_receipts_are_never_changed_or_deleted(case, people, notice, kai):
    case("paid")
    drawdown = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("10.00"), state=Decimal("0"))
    receipt = drawdown_receive(
        drawdown_id=drawdown.pk, by=kai, received_on=TODAY, federal=Decimal("10.00"), state=Decimal("0")
    )
    for row in (drawdown, receipt):
        row.federal_amount = Decimal("1.00")
        with pytest.raises(DrawdownIsAppendOnly):
            row.save()
        with pytest.raises(DrawdownIsAppendOnly):
            row.delete()
    with pytest.raises(DrawdownIsAppendOnly):
        Drawdown.objects.filter(pk=drawdown.pk).update(federal_amount=Decimal("1.00"))


# --- the receipt -------------------------------------------------------------------------------


@pytest.fixture
def drawdown(case, people, notice):
    case("paid")
    return drawdown_request(
        notice_id=notice.pk, by=people.finance, federal=Decimal("2000.00"), state=Decimal("1500.00")
    )


def test_a_drawdown_comes_in_in_parts_and_is_then_received(drawdown, kai, notice):
    from budgets.notices import drawdown_status, drawdowns_with_receipts, open_drawdowns

    def status():
        return drawdown_status(drawdowns_with_receipts(Drawdown.objects.filter(pk=drawdown.pk)).get())

    assert status() == Drawdown.Status.REQUESTED and open_drawdowns(kai) == [drawdown]
    drawdown_receive(drawdown_id=drawdown.pk, by=kai, received_on=TODAY, federal=Decimal("2000.00"), state=Decimal("0"))
    assert status() == Drawdown.Status.PARTLY_RECEIVED and open_drawdowns(kai)[0].open == Decimal("1500.00")
    drawdown_receive(drawdown_id=drawdown.pk, by=kai, received_on=TODAY, federal=None, state=Decimal("1500.00"))
    assert status() == Drawdown.Status.RECEIVED and open_drawdowns(kai) == []


def test_a_receipt_above_what_is_open_is_refused(drawdown, kai):
    drawdown_receive(drawdown_id=drawdown.pk, by=kai, received_on=TODAY, federal=Decimal("1999.99"), state=Decimal("0"))
    with pytest.raises(DomainError) as refused:
        drawdown_receive(
            drawdown_id=drawdown.pk, by=kai, received_on=TODAY, federal=Decimal("0.02"), state=Decimal("0")
        )
    assert refused.value.status == 409 and "noch 0,01 € offen" in str(refused.value)
    assert DrawdownReceipt.objects.count() == 1


def test_the_requester_does_not_record_the_receipt_of_their_own_drawdown(drawdown, people):
    with pytest.raises(DomainError) as refused:
        drawdown_receive(
            drawdown_id=drawdown.pk, by=people.finance, received_on=TODAY, federal=Decimal("1.00"), state=Decimal("0")
        )
    assert refused.value.status == 403 and "Vier-Augen" in str(refused.value)
    assert not DrawdownReceipt.objects.exists()


@pytest.mark.parametrize(
    "received_on, status", [(TODAY + timedelta(days=1), 409), (TODAY - timedelta(days=1), 409), (None, 400)]
)
def test_a_receipt_is_dated_between_the_request_and_today(drawdown, kai, received_on, status):
    with pytest.raises(DomainError) as refused:
        drawdown_receive(
            drawdown_id=drawdown.pk, by=kai, received_on=received_on, federal=Decimal("1.00"), state=Decimal("0")
        )
    assert refused.value.status == status


@pytest.mark.parametrize(
    "role, status",
    [("caseworker", 403), ("approver", 403), ("auditor", 403), ("owner", 404), ("foreign_caseworker", 404)],
)
def test_only_finance_of_the_town_records_a_receipt(drawdown, people, role, status):
    with pytest.raises(DomainError) as refused:
        drawdown_receive(
            drawdown_id=drawdown.pk, by=getattr(people, role), received_on=TODAY, federal=Decimal("1.00"), state=None
        )
    assert refused.value.status == status


# --- the pages ---------------------------------------------------------------------------------


def test_finance_records_a_notice_on_the_page_with_german_amounts_and_its_tranches(client, people, musterstadt):
    client.force_login(people.finance)
    form = client.get(reverse("workspace:state_notice_new"))
    assert form.status_code == 200 and 'for="id_kassenmittel-0-year"' in form.content.decode()
    data = {
        "municipality": musterstadt.pk, "number": "34.2-17/2026", "issued_on": f"15.01.{YEAR}",
        "funding_body": "Bezirksregierung Köln", "eligible_total": "250.000,00", "federal": "1/3", "state": "1/3",
        "municipal": "1/3", "private": "", "period_start": f"01.01.{YEAR}", "period_end": f"31.12.{YEAR + 1}",
        "kassenmittel-TOTAL_FORMS": "5", "kassenmittel-INITIAL_FORMS": "0", "kassenmittel-MIN_NUM_FORMS": "0",
        "kassenmittel-MAX_NUM_FORMS": "12", "kassenmittel-0-year": str(YEAR), "kassenmittel-0-amount": "120.000,00",
        "kassenmittel-1-year": str(YEAR + 1), "kassenmittel-1-amount": "130.000,00",
    }  # fmt: skip
    response = client.post(reverse("workspace:state_notice_new"), data)
    notice = StateNotice.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("workspace:state_notice", args=[notice.pk])
    assert notice.eligible_total == Decimal("250000.00") and notice.federal_share == Fraction(1, 3)
    assert list(notice.tranches.values_list("amount", flat=True)) == [Decimal("120000.00"), Decimal("130000.00")]
    page = client.get(reverse("workspace:state_notices")).content.decode()
    assert "34.2-17/2026" in page and "250.000,00 €" in page and "120.000,00 €" in page
    # Too much cash for the total: the error summary names it, nothing is written.
    data.update({"number": "34.2-18/2026", "kassenmittel-1-amount": "130.000,01"})
    refused = client.post(reverse("workspace:state_notice_new"), data)
    assert refused.status_code == 400 and 'id="fehler"' in refused.content.decode()
    assert "250.000,00" in refused.content.decode() and StateNotice.objects.count() == 1


def test_the_detail_page_shows_how_the_proposal_is_made_and_finance_requests_and_a_colleague_receives(
    client, case, people, notice, kai
):
    case("paid")
    approved_due_on(case, TODAY, area="151")
    client.force_login(people.finance)
    url = reverse("workspace:state_notice", args=[notice.pk])
    page = client.get(url).content.decode()
    assert "Vorschlag je Förderanteil in Euro" in page and "Nr. 1.4 ANBest-K" in page
    assert "2.400,48 €" in page  # the federal share made (7,200 € paid)
    assert "nur zur Information" in page and "<caption" in page and 'scope="col"' in page
    response = client.post(
        reverse("workspace:drawdown_request", args=[notice.pk]), {"federal": "2.400,48", "state": "0", "comment": "Q1"}
    )
    assert response.status_code == 302
    drawdown = Drawdown.objects.get()
    assert drawdown.federal_amount == Decimal("2400.48") and drawdown.comment == "Q1"
    too_much = client.post(reverse("workspace:drawdown_request", args=[notice.pk]), {"federal": "99.999,00"})
    assert too_much.status_code == 409 and "Nr. 1.4 ANBest-K" in too_much.content.decode()
    receipt_url = reverse("workspace:drawdown_receipt", args=[notice.pk, drawdown.pk])
    own = client.post(receipt_url, {"received_on": TODAY.isoformat(), "federal": "2.400,48"})
    assert own.status_code == 403 and "Vier-Augen" in own.content.decode()
    client.force_login(kai)
    assert client.post(receipt_url, {"received_on": TODAY.isoformat(), "federal": "1.000,00"}).status_code == 302
    assert "Offene Mittelabrufe" in client.get(reverse("workspace:budgets")).content.decode()
    assert client.post(receipt_url, {"received_on": TODAY.isoformat(), "federal": "1.400,48"}).status_code == 302
    assert "Offene Mittelabrufe" not in client.get(reverse("workspace:budgets")).content.decode()
    assert "eingegangen" in client.get(url).content.decode()


@pytest.mark.parametrize("role", ["caseworker", "approver", "auditor"])
def test_staff_read_the_pages_and_only_finance_writes(client, case, people, notice, role):
    case("paid")
    drawdown = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("0"))
    client.force_login(getattr(people, role))
    assert client.get(reverse("workspace:state_notices")).status_code == 200
    page = client.get(reverse("workspace:state_notice", args=[notice.pk])).content.decode()
    assert "Vorschlag je Förderanteil" in page and "Mittel abrufen" not in page
    for url, data in [
        (reverse("workspace:state_notice_new"), {}),
        (reverse("workspace:drawdown_request", args=[notice.pk]), {"federal": "1,00"}),
        (reverse("workspace:drawdown_receipt", args=[notice.pk, drawdown.pk]), {"received_on": TODAY.isoformat(),
                                                                                 "federal": "1,00"}),
    ]:  # fmt: skip
        refused = client.post(url, data)
        assert refused.status_code == 403 and "Finanzabteilung" in refused.content.decode(), url
    assert Drawdown.objects.count() == 1 and not DrawdownReceipt.objects.exists()


def test_owners_are_refused_and_other_towns_find_nothing(client, case, people, notice):
    case("paid")
    drawdown = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("0"))
    detail = reverse("workspace:state_notice", args=[notice.pk])
    receipt = reverse("workspace:drawdown_receipt", args=[notice.pk, drawdown.pk])
    client.force_login(people.owner)
    assert client.get(reverse("workspace:state_notices")).status_code == 403
    assert client.get(detail).status_code == 403
    client.force_login(people.foreign_caseworker)
    assert "34.2-17/2026" not in client.get(reverse("workspace:state_notices")).content.decode()
    assert client.get(detail).status_code == 404
    assert client.post(reverse("workspace:drawdown_request", args=[notice.pk]), {"federal": "1,00"}).status_code == 404
    assert client.post(receipt, {"received_on": TODAY.isoformat(), "federal": "1,00"}).status_code == 404
    assert "Nachbarstadt" not in client.get(reverse("workspace:budgets")).content.decode()


def test_a_request_without_the_csrf_token_is_refused(case, people, notice):
    case("paid")
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.finance)
    response = client.post(reverse("workspace:drawdown_request", args=[notice.pk]), {"federal": "1,00"})
    assert response.status_code == 403 and not Drawdown.objects.exists()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _more_notices(musterstadt, people, kai, n):
    for i in range(n):
        extra = record_notice(musterstadt, people.finance, number=f"34.2-{100 + i}/2026")
        programme = ProgrammeFactory(municipality=musterstadt, name=f"Programm {i}", code=f"P{i}")
        allocation = AllocationFactory(programme=programme, amount=Decimal("1000.00"))
        allocation_link_state_notice(allocation_id=allocation.pk, notice_id=extra.pk, by=people.finance)
        Drawdown.objects.create(notice=extra, number=1, requested_on=TODAY, federal_amount=Decimal("1.00"),
                                state_amount=Decimal("0"), requested_by=people.finance)  # fmt: skip


def test_the_list_costs_the_same_queries_for_one_notice_and_for_five(
    client, case, people, notice, kai, musterstadt, django_assert_max_num_queries
):
    case("paid")
    drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("0"))
    client.force_login(people.auditor)
    url = reverse("workspace:state_notices")
    one = _queries(client, url)
    _more_notices(musterstadt, people, kai, 4)
    # session and user, the user's towns and roles; the notices, their tranches, their allocations with balances;
    # drawn and received per notice: none of them per row.
    with django_assert_max_num_queries(one):
        page = client.get(url)
    assert page.content.decode().count("34.2-1") == 5


def test_the_detail_costs_the_same_queries_for_one_drawdown_and_for_many(
    client, case, people, notice, kai, django_assert_max_num_queries
):
    case("paid")
    approved_due_on(case, TODAY, area="151")
    first = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("1.00"))
    drawdown_receive(drawdown_id=first.pk, by=kai, received_on=TODAY, federal=Decimal("1.00"), state=None)
    client.force_login(people.finance)
    url = reverse("workspace:state_notice", args=[notice.pk])
    one = _queries(client, url)
    for _ in range(5):
        more = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("1.00"))
        drawdown_receive(drawdown_id=more.pk, by=kai, received_on=TODAY, federal=Decimal("0.50"), state=None)
        drawdown_receive(drawdown_id=more.pk, by=kai, received_on=TODAY, federal=Decimal("0.50"), state=None)
    approved_due_on(case, TODAY, area="152")
    approved_due_on(case, TODAY, area="153")
    # The notice, its tranches, its allocations with balances, the drawdowns with their receipts and requesters;
    # the proposal: made, due cases and their ledger figures, requested: none of them per drawdown or case.
    with django_assert_max_num_queries(one):
        page = client.get(url)
    assert page.content.decode().count("Abruf ") >= 6


# --- PostgreSQL: two finance people at once ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_finance_people_requesting_at_once_never_request_the_same_euro_twice(case, people, notice, kai):
    case("paid")
    may = drawdown_proposal(notice, on=TODAY).may_request
    federal, state = Decimal(may["federal"]) / 100, Decimal(may["state"]) / 100
    start = threading.Barrier(2, timeout=60)
    outcomes = []
    proposal = drawdown_proposal

    def slow_proposal(*args, **kwargs):
        # Each request reads the proposal, then waits: without the notice's lock both would read the same figures.
        found = proposal(*args, **kwargs)
        time.sleep(0.5)
        return found

    def request_as(user):
        try:
            start.wait()
            drawdown_request(notice_id=notice.pk, by=user, federal=federal, state=state)
            outcomes.append("done")
        except DomainError as refused:
            outcomes.append(str(refused.status))
        except Exception as error:  # noqa: BLE001 - a lost race shows as whatever the database says
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=request_as, args=(user,)) for user in (people.finance, kai)]
    with mock.patch("grants.drawdowns.drawdown_proposal", side_effect=slow_proposal):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["409", "done"]
    assert shares_of_drawdowns(notice) == may


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def keeper(musterstadt):
    from django.contrib.auth.models import Permission

    user = UserFactory(username="keeper", roles=["finance"], municipalities=[musterstadt])
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="budgets"))
    return user


def _admin_notice(musterstadt, **tranches):
    data = {
        "municipality": musterstadt.pk, "number": "34.2-17/2026", "issued_on": f"15.01.{YEAR}",
        "funding_body": "Bezirksregierung Köln", "eligible_total": "1000.00", "federal": "60", "state": "40",
        "municipal": "", "private": "", "period_start": f"01.01.{YEAR}", "period_end": f"31.12.{YEAR + 1}",
        "tranches-TOTAL_FORMS": str(len(tranches)), "tranches-INITIAL_FORMS": "0", "tranches-MIN_NUM_FORMS": "0",
        "tranches-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for i, (year, amount) in enumerate(tranches.values()):
        data[f"tranches-{i}-year"], data[f"tranches-{i}-amount"] = str(year), amount
    return data


def test_the_admin_records_a_notice_with_its_tranches_and_checks_them_together(client, keeper, musterstadt):
    client.force_login(keeper)
    url = reverse("admin:budgets_statenotice_add")
    too_much = client.post(url, _admin_notice(musterstadt, a=(YEAR, "600.00"), b=(YEAR + 1, "400.01")))
    assert too_much.status_code == 200 and "mehr als die 1.000,00 €" in too_much.content.decode()
    outside = client.post(url, _admin_notice(musterstadt, a=(YEAR + 2, "1.00")))
    assert "außerhalb des Bewilligungszeitraums" in outside.content.decode()
    assert not StateNotice.objects.exists()
    done = client.post(url, _admin_notice(musterstadt, a=(YEAR, "600.00"), b=(YEAR + 1, "400.00")))
    assert done.status_code == 302
    notice = StateNotice.objects.get()
    assert notice.created_by == keeper and notice.state_share == Fraction(2, 5) and notice.tranches.count() == 2


def test_the_admin_shows_drawdowns_read_only(client, keeper, case, people, notice):
    case("paid")
    drawdown = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("0"))
    client.force_login(keeper)
    assert client.get(reverse("admin:budgets_drawdown_changelist")).status_code == 200
    assert client.get(reverse("admin:budgets_drawdown_add")).status_code == 403
    page = client.get(reverse("admin:budgets_drawdown_change", args=[drawdown.pk]))
    assert page.status_code == 200 and 'name="federal_amount"' not in page.content.decode()


def test_a_year_is_drawn_down_no_further_than_the_notices_cash_of_that_year_gives_each_share(
    case, people, musterstadt, allocation
):
    # 3,000 € of cash this year: Bund 0.3334 → 1,000.20 €, Land 0.3333 → 999.90 € (the exact split of the tranche).
    notice = record_notice(musterstadt, people.finance, tranches=[TrancheInput(YEAR, Decimal("3000.00"))])
    allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=people.finance)
    case("paid")  # 7,200 € made: far more than the year's cash
    drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1000.00"), state=Decimal("999.90"))
    with pytest.raises(DomainError) as refused:
        drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("0.21"), state=Decimal("0"))
    message = str(refused.value)
    assert refused.value.status == 409
    assert f"Kassenmittel {YEAR}" in message and "1.000,20 €" in message and "abgerufen sind 1.000,00 €" in message
    drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("0.20"), state=Decimal("0"))
    assert Drawdown.objects.filter(notice=notice).count() == 2


@pytest.mark.postgres
def test_on_postgresql_the_database_refuses_to_change_or_delete_a_drawdown_or_a_receipt(case, people, notice, kai):
    case("paid")
    drawdown = drawdown_request(notice_id=notice.pk, by=people.finance, federal=Decimal("1.00"), state=Decimal("0"))
    drawdown_receive(drawdown_id=drawdown.pk, by=kai, received_on=TODAY, federal=Decimal("1.00"), state=None)
    for table in ("budgets_drawdown", "budgets_drawdownreceipt"):
        for sql in (f"UPDATE {table} SET federal_amount = 2", f"DELETE FROM {table}"):
            with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    assert Drawdown.objects.get().federal_amount == Decimal("1.00") and DrawdownReceipt.objects.count() == 1
