"""Excel import of legacy cases: applications in their historical state with their ledger, all or nothing."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_fsm_log.models import StateLog

from budgets.models import LedgerEntry
from budgets.selectors import allocation_balance
from core.errors import DomainError
from grants.demo import SAMPLE_WORKBOOK, load_demo_data
from grants.imports import import_workbook, write_import_template
from grants.models import GrantApplication

pytestmark = pytest.mark.django_db
State = GrantApplication.State


def case(**changes) -> dict:
    row = dict(
        name="Hans Hofmann", street="Hauptstraße", house_number="3", postcode="12345", city="Musterstadt",
        measure="Fassade", area_m2=Decimal("150"), total_costs=Decimal("28000.00"),
        eligible_costs=Decimal("28000.00"), approved_grant=Decimal("6000.00"), paid_amount=Decimal("5800.00"),
        submitted_on=date(2026, 2, 3), approved_on=date(2026, 3, 10), paid_on=date(2026, 8, 20),
        state="abgeschlossen",
    )  # fmt: skip
    row.update(changes)
    return row


def workbook(*rows) -> io.BytesIO:
    out = io.BytesIO()
    write_import_template(out, rows)
    out.seek(0)
    return out


@pytest.fixture
def allocation_2026(programme):
    from ..factories import AllocationFactory

    return AllocationFactory(programme=programme, year=2026, amount=Decimal("20000.00"))


def test_a_paid_legacy_case_comes_with_commitment_payment_release_and_history(programme, allocation_2026, people):
    report = import_workbook(programme_id=programme.pk, file=workbook(case(file_number="FP-2026-0101")),
                             by=people.caseworker)  # fmt: skip
    assert report.committed and [r.file_number for r in report.imported] == ["FP-2026-0101"]
    application = GrantApplication.objects.get()
    assert (application.state, application.approved_grant, application.paid_amount, application.budget_year) == (
        State.DOCUMENTED, Decimal("6000.00"), Decimal("5800.00"), 2026,
    )  # fmt: skip
    kinds = sorted((e.kind, e.amount) for e in application.ledger_entries.all())
    assert kinds == [
        (LedgerEntry.Kind.COMMITMENT, Decimal("6000.00")),
        (LedgerEntry.Kind.PAYMENT, Decimal("5800.00")),
        (LedgerEntry.Kind.RELEASE, Decimal("200.00")),
    ]
    balance = allocation_balance(allocation_2026)
    assert (balance.committed, balance.paid) == (Decimal("5800.00"), Decimal("5800.00"))
    log = StateLog.objects.for_(application).get()
    assert (log.transition, log.source_state, log.state, log.by) == ("import", None, "documented", people.caseworker)


def test_bad_rows_are_refused_with_reasons_in_german_and_nothing_is_written(programme, allocation_2026, people):
    file = workbook(
        case(),
        case(name=None),
        case(total_costs="zwölftausend"),
        case(state="verloren"),
        case(street="Bahnhofstraße"),
        case(approved_grant=Decimal("15000.00"), paid_amount=Decimal("1000.00")),  # 6000 + 15000 > 20000
    )
    report = import_workbook(programme_id=programme.pk, file=file, by=people.caseworker)
    reasons = {r.number: " ".join(r.reasons) for r in report.rows}
    assert not report.committed
    assert "Pflichtfeld „Antragsteller/in“ fehlt." in reasons[3]
    assert "„Gesamtkosten“ ist keine Zahl: „zwölftausend“." in reasons[4]
    assert "Unbekannter Status „verloren“." in reasons[5]
    assert "Die Adresse liegt nicht im Fördergebiet." in reasons[6]
    assert "Mittelausstattung überschritten" in reasons[7]
    assert "alles oder nichts" in reasons[2]
    assert not GrantApplication.objects.exists() and not LedgerEntry.objects.exists()


def test_valid_rows_only_imports_the_good_rows_and_never_over_commits(programme, allocation_2026, people):
    file = workbook(
        case(state="bewilligt", approved_grant=Decimal("12000.00"), paid_amount=None, paid_on=None),
        case(state="bewilligt", approved_grant=Decimal("9000.00"), paid_amount=None, paid_on=None, house_number="5"),
        case(state="abgelehnt", house_number="7"),
    )
    report = import_workbook(programme_id=programme.pk, file=file, by=people.caseworker, valid_only=True)
    assert report.committed and [r.number for r in report.imported] == [2, 4]
    assert "Mittelausstattung überschritten" in " ".join(report.refused[0].reasons)
    assert allocation_balance(allocation_2026).committed == Decimal("12000.00")
    assert GrantApplication.objects.count() == 2  # the refused row left no applicant, property or entry behind
    assert LedgerEntry.objects.count() == 1


def test_a_file_that_is_no_workbook_gives_a_message_not_an_error(programme, people):
    report = import_workbook(programme_id=programme.pk, file=io.BytesIO(b"kein Excel"), by=people.caseworker)
    assert report.error == "Die Datei ist keine Excel-Arbeitsmappe (.xlsx)." and not report.committed


def test_only_caseworkers_of_the_municipality_import(programme, people):
    for user, code in ((people.foreign_caseworker, "not_found"), (people.auditor, "forbidden")):
        with pytest.raises(DomainError) as refusal:
            import_workbook(programme_id=programme.pk, file=workbook(case()), by=user)
        assert refusal.value.code == code


def test_the_staff_page_imports_and_shows_the_row_report(client, programme, allocation_2026, people):
    client.force_login(people.caseworker)
    assert client.get(reverse("workspace:import")).status_code == 200
    upload = SimpleUploadedFile("altfaelle.xlsx", workbook(case(), case(state="???", house_number="9")).getvalue())
    page = client.post(reverse("workspace:import"), {"programme": programme.pk, "workbook": upload})
    html = page.content.decode()
    assert page.status_code == 200 and "Unbekannter Status „???“." in html and "Nichts übernommen" in html
    assert not GrantApplication.objects.exists()
    upload = SimpleUploadedFile("altfaelle.xlsx", workbook(case(), case(state="???", house_number="9")).getvalue())
    page = client.post(reverse("workspace:import"), {"programme": programme.pk, "workbook": upload, "valid_only": "on"})
    assert "übernommen als" in page.content.decode() and GrantApplication.objects.count() == 1

    client.force_login(people.auditor)
    assert client.get(reverse("workspace:import")).status_code == 403


def test_the_sample_workbook_imports_by_command_into_the_demo_programme(db):
    from budgets.models import Allocation
    from grants.models import Programme

    load_demo_data()
    facade = Programme.objects.get(code="FP")
    Allocation.objects.get_or_create(programme=facade, year=2026, defaults={"amount": Decimal("250000.00"),
                                     "federal_percent": Decimal("50"), "state_percent": Decimal("50")})  # fmt: skip
    out = io.StringIO()
    call_command("import_cases", str(SAMPLE_WORKBOOK), "--programme", "FP", "--user", "sachbearbeitung", stdout=out)
    assert "7 übernommen, 0 abgelehnt." in out.getvalue()
    assert GrantApplication.objects.filter(file_number__in=["FP-2026-0101", "FP-2026-0107"]).count() == 2


def test_the_demo_can_be_loaded_from_the_sample_workbook(db):
    assert load_demo_data(workbook=SAMPLE_WORKBOOK)
    states = set(GrantApplication.objects.values_list("state", flat=True))
    assert {"approved", "paid", "documented", "rejected", "submitted", "checked"} <= states
    assert LedgerEntry.objects.filter(kind="payment").count() == 2
