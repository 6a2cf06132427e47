"""The budget dashboard: balances by share, the ledger with filters, SVG charts, the shortfall warning."""

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.selectors import monthly_progress
from tests.factories import advance, make_application

pytestmark = pytest.mark.django_db


def test_balances_by_share_charts_and_ledger(client, people, programme, allocation):
    application = advance(make_application(programme=programme, applicant=people.alice), "approved", people)
    client.force_login(people.auditor)
    response = client.get(reverse("workspace:allocation", args=[allocation.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "100.000,00" in html and "7.200,00" in html and "92.800,00" in html  # allocation, committed, available
    assert "2.400,48" in html  # the federal share (33.34 %) of the commitment, to the cent
    assert html.count('role="img"') == 2 and "<svg" in html and "<title" in html
    assert application.file_number in html
    assert "Mittel reichen nicht" not in html
    points = monthly_progress(allocation)
    assert points[-1].committed == Decimal("7200.00") and points[-1].paid == Decimal("0.00")


def test_the_ledger_filters_by_kind_and_text(client, people, programme, allocation):
    advance(make_application(programme=programme, applicant=people.alice), "paid", people)
    client.force_login(people.finance)
    url = reverse("workspace:allocation", args=[allocation.pk])

    def kinds(**query):
        return [entry.kind for entry in client.get(url, query).context["page"].entries]

    assert kinds() == ["payment", "commitment"]  # newest first; no release: paid in full
    assert kinds(kind="payment") == ["payment"]
    assert kinds(q="FP-") == ["payment", "commitment"]
    assert kinds(q="nichts") == []
    assert kinds(booked_from="2000-01-01", booked_to="2000-12-31") == []
    assert "2 Buchungen, neueste zuerst" in client.get(url).content.decode()
    assert "Buchungen dieser Auswahl" in client.get(url, {"kind": "payment"}).content.decode()


def test_the_ledger_pages_newest_first_by_keyset(client, people, programme, allocation):
    from budgets.services import ledger_commit, ledger_release

    application = advance(make_application(programme=programme, applicant=people.alice), "approved", people)
    for n in range(60):
        ledger_release(programme_id=programme.pk, year=allocation.year, application=application,
                       amount=Decimal("1.00"), by=people.approver, comment=f"Teil {n}")  # fmt: skip
        ledger_commit(programme_id=programme.pk, year=allocation.year, application=application,
                      amount=Decimal("1.00"), by=people.approver, comment=f"Teil {n}")  # fmt: skip
    client.force_login(people.finance)
    url = reverse("workspace:allocation", args=[allocation.pk])
    first = client.get(url)
    entries = first.context["page"].entries
    assert len(entries) == 50 and entries[0].comment == "Teil 59" and entries[0].kind == "commitment"
    assert [e.pk for e in entries] == sorted((e.pk for e in entries), reverse=True)
    older = first.context["page"].older
    assert f"vor={older}" in first.content.decode() and "ältere Buchungen" in first.content.decode()
    second = client.get(url, {"vor": older}).context["page"]
    third = client.get(url, {"vor": second.older}).context["page"]
    seen = [e.pk for e in entries] + [e.pk for e in second.entries] + [e.pk for e in third.entries]
    assert len(seen) == 121 == len(set(seen)) and third.older is None  # every entry once, the approval's last
    assert client.get(url, {"vor": "abc"}).context["page"].entries[0].pk == entries[0].pk  # nonsense: the newest


def test_a_warning_when_pending_applications_need_more_than_is_available(client, people, programme, allocation):
    allocation_small = allocation
    allocation_small.amount = Decimal("10000.00")
    allocation_small.save()
    for _ in range(2):
        advance(make_application(programme=programme, applicant=people.alice), "checked", people)
    client.force_login(people.approver)
    html = client.get(reverse("workspace:allocation", args=[allocation.pk])).content.decode()
    assert "Die verfügbaren Mittel reichen nicht für alle offenen Anträge" in html
    assert "14.400,00" in html
    start = client.get(reverse("workspace:start")).content.decode()
    assert "Mittel reichen nicht" in start


def test_the_start_page_shows_my_queue_counts_and_budget(client, people, programme, allocation):
    submitted = advance(make_application(programme=programme, applicant=people.alice), "submitted", people)
    checked = advance(make_application(programme=programme, applicant=people.alice), "checked", people)
    client.force_login(people.caseworker)
    caseworker = client.get(reverse("workspace:start"))
    assert [a.pk for a in caseworker.context["queue"]] == [submitted.pk]
    client.force_login(people.approver)
    approver = client.get(reverse("workspace:start"))
    assert [a.pk for a in approver.context["queue"]] == [checked.pk]
    counts = {state: n for state, _, n in approver.context["counts"]}
    assert counts["submitted"] == 1 and counts["checked"] == 1 and counts["paid"] == 0
    assert "Fassadenprogramm Altstadt" in approver.content.decode()
    client.force_login(people.auditor)
    assert list(client.get(reverse("workspace:start")).context["queue"]) == []
