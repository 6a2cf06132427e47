"""The state notice and drawdown pages in a real headless Chromium, with axe-core on every page: finance records
the notice with its cash per year, requests the funds the paid case needs, a colleague records what came in."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from budgets.models import Drawdown, DrawdownReceipt, StateNotice
from budgets.notices import allocation_link_state_notice
from tests.browser import assert_accessible
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_records_a_notice_requests_funds_and_a_colleague_records_the_receipt(
    login, people, case, allocation, musterstadt
):
    case("paid")
    year = timezone.localdate().year
    page = login(people.finance, next="/arbeitsplatz/haushalt/landesbescheide/neu/")
    assert_accessible(page)
    page.get_by_role("button", name="Bescheid erfassen").click()  # empty: the error summary
    expect(page.get_by_text("Bitte prüfen Sie Ihre Angaben")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Aktenzeichen des Bescheids").fill("34.2-17")
    page.get_by_label("Bescheid vom").fill(f"{year}-01-15")
    page.get_by_label("Bewilligungsbehörde").fill("Bezirksregierung Köln")
    page.get_by_label("zuwendungsfähige Ausgaben in Euro").fill("250.000,00")
    page.get_by_label("Anteil Bund").fill("33,34")
    page.get_by_label("Anteil Land").fill("33,33")
    page.get_by_label("Anteil Kommune").fill("33,33")
    page.get_by_label("Bewilligungszeitraum von").fill(f"{year}-01-01")
    page.get_by_label("Bewilligungszeitraum bis").fill(f"{year + 1}-12-31")
    page.get_by_label("Haushaltsjahr (Zeile 1)").fill(str(year))
    page.get_by_label("Kassenmittel in Euro (Zeile 1)").fill("100.000,00")
    page.get_by_role("button", name="Bescheid erfassen").click()
    expect(page.get_by_text("Der Zuwendungsbescheid des Landes ist erfasst.")).to_be_visible()
    assert_accessible(page)
    notice = StateNotice.objects.get()
    allocation_link_state_notice(allocation_id=allocation.pk, notice_id=notice.pk, by=people.finance)

    page.reload()
    expect(page.get_by_role("cell", name="2.400,48 €").first).to_be_visible()  # the federal share paid
    page.get_by_role("button", name="Mittelabruf erfassen").click()  # the proposal is filled in
    expect(page.get_by_text("Mittelabruf 1 ist erfasst.")).to_be_visible()
    assert_accessible(page)
    drawdown = Drawdown.objects.get()
    assert (drawdown.federal_amount, drawdown.state_amount) == (allocation_paid(drawdown, "federal"),
                                                                allocation_paid(drawdown, "state"))  # fmt: skip

    page.goto("/arbeitsplatz/haushalt/")
    expect(page.get_by_role("heading", name="Offene Mittelabrufe")).to_be_visible()
    assert_accessible(page)
    page.goto("/arbeitsplatz/haushalt/landesbescheide/")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone too: the wide tables scroll by keyboard
    assert_accessible(page)
    page.goto(f"/arbeitsplatz/haushalt/landesbescheide/{drawdown.notice_id}/")
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    kai = UserFactory(username="kai", roles=["finance"], municipalities=[musterstadt])
    colleague = login(kai, next=f"/arbeitsplatz/haushalt/landesbescheide/{notice.pk}/")
    colleague.get_by_role("button", name="Geldeingang erfassen").click()
    expect(colleague.get_by_text("Der Geldeingang ist erfasst.")).to_be_visible()
    assert_accessible(colleague)
    assert DrawdownReceipt.objects.get().amount == drawdown.amount


def allocation_paid(drawdown, share):
    from django.db.models import Sum

    from budgets.models import LedgerEntry

    return LedgerEntry.objects.filter(
        allocation__state_notice=drawdown.notice, kind=LedgerEntry.Kind.PAYMENT
    ).aggregate(total=Sum(f"{share}_amount"))["total"]
