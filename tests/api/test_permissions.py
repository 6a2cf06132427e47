"""The permission matrix: every persona against every endpoint, on Alice's objects.

404 when the object is not visible to the persona (another owner, another municipality),
403 when it is visible but the role does not allow the request, 200 otherwise.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from budgets.models import LedgerEntry
from grants.models import Document, GrantApplication
from grants.services import (
    ComponentInput,
    CostInput,
    InvoiceInput,
    application_certify_invoices,
    change_check,
    change_request,
    extension_request,
    invoice_certify,
    invoice_record,
    proof_submit,
)

from ..factories import PropertyFactory, add_document, advance, make_application

State = GrantApplication.State
pytestmark = pytest.mark.django_db

PERSONAS = [
    "owner",
    "other_owner",
    "caseworker",
    "approver",
    "finance",
    "auditor",
    "foreign_caseworker",
    "foreign_approver",
]
NOT_VISIBLE = {"other_owner", "foreign_caseworker", "foreign_approver"}
STAFF = {"caseworker", "approver", "finance", "auditor"}


@pytest.fixture
def alices(programme, allocation, people):
    """Alice's paid application (so it has history, documents, ledger entries) and her property."""
    application = make_application(programme=programme, applicant=people.alice, property=PropertyFactory())
    advance(application, State.PAID, people)
    return application


def read_urls(application, allocation):
    entry = LedgerEntry.objects.filter(application=application).first()
    document = application.documents.first()
    return {
        "application": f"/api/applications/{application.pk}/",
        "history": f"/api/applications/{application.pk}/history/",
        "documents": f"/api/applications/{application.pk}/documents/",
        "document": f"/api/applications/{application.pk}/documents/{document.pk}/",
        "document_file": f"/api/applications/{application.pk}/documents/{document.pk}/file/",
        "letters": f"/api/applications/{application.pk}/letters/",
        "applicant": f"/api/applicants/{application.applicant_id}/",
        "property": f"/api/properties/{application.property_id}/",
        "programme": f"/api/programmes/{application.programme_id}/",
        "allocation": f"/api/allocations/{allocation.pk}/",
        "balance": f"/api/allocations/{allocation.pk}/balance/",
        "ledger_entry": f"/api/ledger/{entry.pk}/",
    }


def expected_read(endpoint: str, persona: str) -> int:
    budget = endpoint in {"allocation", "balance", "ledger_entry"}
    if budget and persona in {"owner", "other_owner"}:
        return 403  # owners never see budgets, whatever the id
    if endpoint == "programme" and persona in {"owner", "other_owner"}:
        return 200  # programmes are public to applicants
    if persona in NOT_VISIBLE:
        return 404
    return 200


READ_ENDPOINTS = [
    "application",
    "history",
    "documents",
    "document",
    "document_file",
    "letters",
    "applicant",
    "property",
    "programme",
    "allocation",
    "balance",
    "ledger_entry",
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_who_may_read_what(endpoint, persona, alices, allocation, people, api):
    url = read_urls(alices, allocation)[endpoint]
    response = api(getattr(people, persona)).get(url)

    assert response.status_code == expected_read(endpoint, persona), response
    if response.status_code != 200:
        assert response.json()["detail"] and response.json()["reasons"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ["applications", "applicants", "properties", "ledger", "allocations"])
def test_lists_show_only_what_the_persona_may_see(endpoint, persona, alices, people, api):
    response = api(getattr(people, persona)).get(f"/api/{endpoint}/")

    if endpoint in {"ledger", "allocations"} and persona in {"owner", "other_owner"}:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    alices_row = {
        "applications": alices.pk,
        "applicants": alices.applicant_id,
        "properties": alices.property_id,
        "ledger": LedgerEntry.objects.filter(application=alices).first().pk,
        "allocations": alices.programme.allocations.get().pk,
    }[endpoint]
    listed = {row["id"] for row in response.json()["results"]}
    assert (alices_row in listed) == (persona not in NOT_VISIBLE)
    if persona == "other_owner":
        assert listed <= {people.bob.pk}  # at most Bob's own profile, never anything of Alice's


def test_nobody_reads_without_logging_in(alices, api):
    for url in read_urls(alices, alices.programme.allocations.get()).values():
        response = api().get(url)
        assert response.status_code == 401, url
        assert response.json()["detail"]


# For each action: the state it starts from, and who may do it (everyone else in the
# municipality gets 403, everyone outside 404).
ACTIONS = {
    "submit": (State.DRAFT, {"owner"}),
    "return-to-applicant": (State.SUBMITTED, {"caseworker"}),
    "check": (State.SUBMITTED, {"caseworker"}),
    "approve": (State.CHECKED, {"approver"}),
    "reject": (State.SUBMITTED, {"caseworker", "approver"}),
    "withdraw": (State.SUBMITTED, {"owner", "caseworker"}),
    "certify-invoices": (State.APPROVED, {"caseworker"}),
    "pay": (State.APPROVED, {"finance"}),
    "document": (State.PAID, {"caseworker"}),
    "edit": (State.DRAFT, {"owner"}),
    "request-extension": (State.APPROVED, {"owner"}),
    "grant-extension": (State.APPROVED, {"caseworker"}),
    "refuse-extension": (State.APPROVED, {"caseworker"}),
    "request-change": (State.APPROVED, {"owner"}),
    "check-change": (State.APPROVED, {"caseworker"}),
    "approve-change": (State.APPROVED, {"approver"}),
    "refuse-change": (State.APPROVED, {"caseworker", "approver"}),
    "record-invoice": (State.APPROVED, {"owner"}),
    "certify-invoice": (State.APPROVED, {"caseworker"}),
    "pay-partial": (State.APPROVED, {"finance"}),
    "submit-proof": (State.APPROVED, {"owner"}),
    "accept-proof": (State.APPROVED, {"caseworker"}),
    "return-proof": (State.APPROVED, {"caseworker"}),
}
INVOICES = [
    {
        "kind": "facade",
        "area_m2": "180.00",
        "costs": [{"description": "Schlussrechnung", "net_amount": "30000.00", "vat_amount": "5700.00"}],
    }
]


INVOICE = InvoiceInput(
    number="R-1", issued_on=date.today(), supplier="Specht", measure="facade", description="Anstrich",
    net_amount=Decimal("4000.00"), vat_amount=Decimal("760.00"),
)  # fmt: skip
# A change request: 250 m² instead of 180 m².
LARGER = [ComponentInput("facade", Decimal("250"), (CostInput("Angebot", Decimal("50000.00"), Decimal("9500.00")),))]


def later(application) -> dict:
    return {
        "completion_deadline": application.completion_deadline + timedelta(days=90),
        "invoice_deadline": application.invoice_deadline + timedelta(days=90),
    }


def prepare(action, application, people):
    if action == "pay":
        invoices = [ComponentInput("facade", Decimal("180"), (CostInput("Rechnung", Decimal("30000.00")),))]
        application_certify_invoices(application_id=application.pk, by=people.caseworker, invoices=invoices)
    if action == "document":
        add_document(application, Document.Kind.PHOTO_AFTER)
    if action in ("grant-extension", "refuse-extension"):
        extension_request(application_id=application.pk, by=people.owner, reason="Lieferzeit", **later(application))
    if action in ("check-change", "approve-change", "refuse-change"):
        change_request(application_id=application.pk, by=people.owner, reason="Giebel", components=LARGER)
    if action == "approve-change":
        change_check(application_id=application.pk, by=people.caseworker)
    if action in ("record-invoice", "certify-invoice", "pay-partial"):
        add_document(application, Document.Kind.INVOICE)
    if action in ("certify-invoice", "pay-partial"):
        document = application.documents.filter(kind=Document.Kind.INVOICE).get()
        invoice = invoice_record(application_id=application.pk, by=people.owner, document_id=document.pk, data=INVOICE)
    if action == "pay-partial":
        invoice_certify(
            application_id=application.pk, by=people.caseworker, invoice_id=invoice.pk, eligible_amount=Decimal("4000")
        )
    if action.endswith("-proof"):
        add_document(application, Document.Kind.INVOICE)
        add_document(application, Document.Kind.PHOTO_AFTER)
    if action in ("accept-proof", "return-proof"):
        proof_submit(application_id=application.pk, by=people.owner, completed_on=date.today(), report="Gestrichen")


def request(client, action, application):
    if action == "edit":
        return client.patch(f"/api/applications/{application.pk}/", {"description": "Neu"}, format="json")
    body = {"comment": "Begründung für die Akte"}
    if action == "certify-invoices":
        body["invoices"] = INVOICES
    if action == "request-extension":
        body = {"reason": "Lieferzeit", **{k: f"{v:%Y-%m-%d}" for k, v in later(application).items()}}
    if action == "request-change":
        body = {"reason": "Giebel", "components": [{**INVOICES[0], "area_m2": "250.00"}]}
    if action == "record-invoice":
        document = application.documents.filter(kind=Document.Kind.INVOICE).get()
        body = {
            "document": document.pk, "number": "R-1", "issued_on": f"{date.today():%Y-%m-%d}", "supplier": "Specht",
            "measure": "facade", "description": "Anstrich", "net_amount": "4000.00", "vat_amount": "760.00",
        }  # fmt: skip
    if action == "certify-invoice":
        body = {"invoice": application.invoices.get().pk, "eligible_amount": "4000.00"}
    if action == "submit-proof":
        body = {"completed_on": f"{date.today():%Y-%m-%d}", "report": "Die Fassade ist gestrichen."}
    return client.post(f"/api/applications/{application.pk}/{action}/", body, format="json")


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_step_only_for_its_role(action, persona, programme, allocation, people, api):
    state, allowed = ACTIONS[action]
    application = advance(make_application(programme=programme, applicant=people.alice), state, people)
    prepare(action, application, people)

    response = request(api(getattr(people, persona)), action, application)

    ok = 201 if action == "record-invoice" else 200
    expected = ok if persona in allowed else 404 if persona in NOT_VISIBLE else 403
    assert response.status_code == expected, response.json()
    application.refresh_from_db()
    if expected == ok:
        assert response.json()["state"] == application.state
    else:
        assert application.state == state  # a refused step changes nothing
        assert response.json()["reasons"]


def test_the_json_suffix_routes_answer_like_the_plain_ones(alices, allocation, people, api):
    """The router's `.json` twins of the extra actions used to end in a 500 (the `format` argument was refused)."""
    caseworker = api(people.caseworker)
    document = alices.documents.first()
    assert caseworker.get(f"/api/allocations/{allocation.pk}/balance.json").status_code == 200
    assert caseworker.get(f"/api/applications/{alices.pk}/documents/{document.pk}/file.json").status_code == 200
    refused = caseworker.post(f"/api/applications/{alices.pk}/approve.json", {"comment": ""}, format="json")
    assert refused.status_code == 403 and refused.json()["reasons"]  # a caseworker never approves
    assert caseworker.post("/api/applications.json", {}, format="json").status_code == 403
