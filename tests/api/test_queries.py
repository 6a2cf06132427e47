"""A list costs the same number of queries at 10 rows as at 500 (page size 500)."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_fsm_log.models import StateLog

from applicants.models import Applicant, Property
from budgets.models import Allocation, LedgerEntry, Statement
from grants.models import (
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    GrantApplication,
    Inspection,
    Invoice,
    Letter,
    MeasureComponent,
    PartialPayment,
    Programme,
    ProofOfUse,
    Repayment,
    Revocation,
    SaleReport,
)

from ..factories import ProgrammeFactory

pytestmark = pytest.mark.django_db


def after_approval(applications, people) -> None:
    """Each application's life after approval: an extension, a change request, an invoice with its file, a partial
    payment and a proof of use listing the file."""
    today = timezone.localdate()
    measures = [{"kind": "facade", "area_m2": "100.00", "description": "", "category": "standard", "costs": []}]
    DeadlineExtension.objects.bulk_create(
        DeadlineExtension(application=a, requested_by=people.owner, reason="Zeit", completion_deadline_before=today,
                          invoice_deadline_before=today, completion_deadline=today, invoice_deadline=today)
        for a in applications
    )  # fmt: skip
    ChangeRequest.objects.bulk_create(
        ChangeRequest(application=a, requested_by=people.owner, reason="Giebel", measures_before=measures,
                      measures=measures, grant_before=Decimal("10.00"), grant=Decimal("10.00"),
                      completion_deadline_before=today, invoice_deadline_before=today, completion_deadline=today,
                      invoice_deadline=today)
        for a in applications
    )  # fmt: skip
    files = Document.objects.bulk_create(
        Document(application=a, kind="invoice", file=f"r{a.pk}.pdf", original_name=f"r{a.pk}.pdf") for a in applications
    )
    payments = PartialPayment.objects.bulk_create(
        PartialPayment(application=a, number=1, amount=Decimal("5.00"), paid_by=people.finance) for a in applications
    )
    Invoice.objects.bulk_create(
        Invoice(application=a, document=f, number="R-1", issued_on=today, supplier="Specht", measure="facade",
                description="Anstrich", net_amount=Decimal("10.00"), vat_amount=Decimal("0.00"),
                gross_amount=Decimal("10.00"), entered_by=people.owner, partial_payment=p)
        for a, f, p in zip(applications, files, payments, strict=True)
    )  # fmt: skip
    proofs = ProofOfUse.objects.bulk_create(
        ProofOfUse(application=a, submitted_by=people.owner, completed_on=today, report="Fertig") for a in applications
    )
    ProofOfUse.documents.through.objects.bulk_create(
        ProofOfUse.documents.through(proofofuse=proof, document=f) for proof, f in zip(proofs, files, strict=True)
    )
    # The life after payment: a revocation case with a repayment, an inspection with a photo, a sale report.
    revocations = Revocation.objects.bulk_create(
        Revocation(application=a, reason="sale", facts="Verkauf", intended_amount=Decimal("5.00"),
                   opened_by=people.caseworker, hearing_deadline=today, outcome="revoked", principal=Decimal("5.00"),
                   decided_by=people.approver, decided_at=timezone.now())
        for a in applications
    )  # fmt: skip
    Repayment.objects.bulk_create(
        Repayment(revocation=r, application=r.application, received_on=today, amount=Decimal("5.00"),
                  principal_part=Decimal("5.00"), interest_part=Decimal("0.00"), booked_by=people.finance)
        for r in revocations
    )  # fmt: skip
    inspections = Inspection.objects.bulk_create(
        Inspection(application=a, inspected_on=today, finding="ok", recorded_by=people.caseworker) for a in applications
    )
    Inspection.photos.through.objects.bulk_create(
        Inspection.photos.through(inspection=i, document=f) for i, f in zip(inspections, files, strict=True)
    )
    SaleReport.objects.bulk_create(
        SaleReport(application=a, sold_on=today, buyer="Becker", reported_by=people.owner) for a in applications
    )


def make_rows(n, *, programme, people):
    """n applications of Alice, each with a measure, a cost item, a document, a log entry, a ledger entry and what
    follows approval (``after_approval``)."""
    prop = Property.objects.create(street="Hauptstraße", house_number="1", postcode="12345", city="Musterstadt")
    applications = GrantApplication.objects.bulk_create(
        GrantApplication(programme=programme, applicant=people.alice, property=prop, file_number=f"FP-2026-{i:04d}")
        for i in range(n)
    )
    components = MeasureComponent.objects.bulk_create(
        MeasureComponent(application=a, kind="facade", area_m2=Decimal("100")) for a in applications
    )
    CostItem.objects.bulk_create(
        CostItem(component=c, description="Anstrich", net_amount=Decimal("1000.00")) for c in components
    )
    Document.objects.bulk_create(
        Document(application=applications[0], kind="quote", file=f"q{i}.pdf", original_name=f"q{i}.pdf")
        for i in range(n)
    )
    StateLog.objects.bulk_create(
        StateLog(content_object=applications[0], transition="submit", source_state="draft", state="submitted",
                 by=people.owner, timestamp=timezone.now())
        for _ in range(n)
    )  # fmt: skip
    after_approval(applications[1:], people)  # the first one keeps exactly n documents
    allocation = Allocation.objects.create(programme=programme, year=2026, amount=Decimal("100000"), state_percent=100)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(allocation=allocation, application=a, kind="commitment", cash_year=2026, amount=Decimal("10.00"),
                    federal_amount=0, state_amount=Decimal("10.00"), municipal_amount=0, private_amount=0,
                    booked_by=people.approver)
        for a in applications
    )  # fmt: skip
    others = Programme.objects.bulk_create(
        Programme(municipality=programme.municipality, kind="facade", name=f"P{i}", code=f"P{chr(65 + i % 26)}{i}"[:10],
                  current_version=programme.current_version)
        for i in range(n - 1)
    )  # fmt: skip
    Allocation.objects.bulk_create(
        Allocation(programme=p, year=2026, amount=Decimal("1000"), state_percent=100) for p in others
    )
    Applicant.objects.bulk_create(
        Applicant(user=people.owner, name=f"Profil {i}", street="Hauptstraße", house_number="1", postcode="12345",
                  city="Musterstadt")
        for i in range(n - 1)
    )  # fmt: skip
    Property.objects.bulk_create(
        Property(registered_by=people.alice, street="Hauptstraße", house_number=str(i), postcode="12345",
                 city="Musterstadt")
        for i in range(n - 1)
    )  # fmt: skip
    Letter.objects.bulk_create(
        Letter(application=applications[0], kind="receipt", key=f"receipt-{i}", subject=f"Eingang {i}",
               file=f"l{i}.pdf", sha256="0" * 64)
        for i in range(n)
    )  # fmt: skip
    Statement.objects.bulk_create(
        Statement(municipality=programme.municipality, programme=programme, year=2026, created_by=people.caseworker)
        for _ in range(n)
    )
    return applications[0]


# Every list starts with the same queries: the token with its user (1), the user's roles (1)
# and, for staff, their municipalities (1); the page needs a count (1) and its rows (1).
# What each list adds on top is noted per line.
LISTS = [
    # components, their cost items, extensions, change requests, invoices, partial payments, proofs of use and the
    # proofs' documents, revocation cases and their repayments, inspections and their photos, sale reports, prefetched
    ("caseworker", "/api/applications/", 5 + 13, "applications"),
    ("owner", "/api/applications/", 4 + 13, "applications"),
    # component rules and funding area, prefetched
    ("caseworker", "/api/programmes/", 5 + 2, "programmes"),
    # balances are annotated on the rows
    ("caseworker", "/api/allocations/", 5, "allocations"),
    ("auditor", "/api/ledger/", 4, "ledger"),  # pages by keyset: no COUNT
    ("owner", "/api/applicants/", 4, "applicants"),
    ("owner", "/api/properties/", 4, "properties"),
    # the application is looked up first, then its documents or log entries
    ("caseworker", "/api/applications/{id}/documents/", 5 + 1, "documents"),
    ("caseworker", "/api/applications/{id}/history/", 5 + 1, "history"),  # the log's content type is cached
    ("owner", "/api/applications/{id}/letters/", 4 + 1, "letters"),
    ("auditor", "/api/statements/", 5, "statements"),
]


@pytest.mark.parametrize("rows", [10, 500])
@pytest.mark.parametrize(("persona", "url", "queries", "name"), LISTS, ids=[f"{p}-{n}" for p, _, _, n in LISTS])
def test_a_list_costs_the_same_queries_at_10_and_500_rows(
    rows, persona, url, queries, name, musterstadt, people, api, django_assert_num_queries
):
    first = make_rows(rows, programme=ProgrammeFactory(municipality=musterstadt), people=people)
    client = api(getattr(people, persona))

    with django_assert_num_queries(queries):
        response = client.get(url.format(id=first.pk), {"page_size": 500})

    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) >= rows
    assert len(body["results"]) == body.get("count", len(body["results"]))  # the ledger pages by keyset: no count
