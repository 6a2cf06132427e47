"""Invoices as records, certified one by one, and partial payments (Abschlagszahlungen) against them.

Through the services, the portal, the workspace and the API: the owner enters each invoice with its document (an
e-invoice prefills the row and must agree with it), the caseworker certifies it (eligible amount, reason for a cut),
finance pays a partial payment (never whoever certified one of the invoices) up to the programme's share, and the
final payment settles on the certified invoices under the approved guideline version and releases the rest.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets.models import Allocation, LedgerEntry
from budgets.selectors import allocation_balance
from budgets.services import case_figures
from core.errors import DomainError
from grants import services
from grants.models import Document, GrantApplication, Invoice, LetterKind, PartialPayment
from grants.services import InvoiceInput

from ..factories import UserFactory
from ..portal.conftest import pdf_bytes
from .test_einvoices import cii_xml, facturx_pdf

State = GrantApplication.State
pytestmark = pytest.mark.django_db

D = Decimal


def upload(application, user, content=None, name="rechnung.pdf", kind=Document.Kind.INVOICE) -> Document:
    return services.document_upload(
        application_id=application.pk, by=user, kind=kind, file=SimpleUploadedFile(name, content or pdf_bytes())
    )


def invoice_data(number="R-1", net="15000.00", vat="2850.00", **extra) -> InvoiceInput:
    return InvoiceInput(
        number=number,
        issued_on=extra.pop("issued_on", date.today() - timedelta(days=3)),
        supplier=extra.pop("supplier", "Malerbetrieb Specht"),
        measure="facade",
        description="Anstrich Straßenseite",
        net_amount=D(net),
        vat_amount=D(vat),
        **extra,
    )


def record(application, people, **kwargs) -> Invoice:
    document = upload(application, people.owner)
    return services.invoice_record(
        application_id=application.pk, by=people.owner, document_id=document.pk, data=invoice_data(**kwargs)
    )


def certify(application, people, invoice, amount=None, reason=""):
    return services.invoice_certify(
        application_id=application.pk,
        by=people.caseworker,
        invoice_id=invoice.pk,
        eligible_amount=invoice.net_amount if amount is None else D(amount),
        reason=reason,
    )


def frozen(application) -> dict:
    return {
        "application": GrantApplication.objects.filter(pk=application.pk).values().get(),
        "invoices": list(Invoice.objects.values()),
        "partials": list(PartialPayment.objects.values()),
        "ledger": list(LedgerEntry.objects.values()),
        "documents": list(Document.objects.values()),
        "history": StateLog.objects.count(),
    }


def text_of(letter) -> str:
    with letter.file.open("rb") as handle:
        return " ".join(" ".join(page.extract_text() for page in PdfReader(handle).pages).split())


def test_invoices_certified_one_by_one_then_a_partial_payment_and_the_final_payment_settles_on_them(
    case, people, django_capture_on_commit_callbacks
):
    # 7,200 € approved (40 €/m² on 180 m²); the programme pays at most 80 % (5,760 €) before the final proof.
    application = case("approved")
    first = record(application, people, number="R-1", net="4000.00", vat="760.00")
    certify(application, people, first, amount="3500.00", reason="Gerüst doppelt berechnet")
    first.refresh_from_db()
    assert (first.eligible_amount, first.cut, first.certified_by) == (D("3500.00"), D("500.00"), people.caseworker)
    assert first.eligible_vat == D("665.00")

    with django_capture_on_commit_callbacks(execute=True):
        payment = services.partial_pay(application_id=application.pk, by=people.finance)
    # The grant on 4,165 € of certified costs (the guideline's rate) is below the 80 % cap.
    expected = services.invoices_grant(application, [first])
    assert D("0") < expected < D("5760.00") and payment.amount == expected and payment.number == 1
    application.refresh_from_db()
    assert application.paid_amount == payment.amount and application.state == State.APPROVED
    assert list(payment.invoices.all()) == [first]
    entry = application.ledger_entries.get(kind="payment")
    assert entry.amount == payment.amount
    assert entry.federal_amount + entry.state_amount + entry.municipal_amount + entry.private_amount == entry.amount
    letter = application.letters.get(kind=LetterKind.PARTIAL_PAYMENT)
    assert "1. Abschlag" in text_of(letter) and "R-1" in text_of(letter)
    assert "Abschlag ausgezahlt" in mail.outbox[-1].subject

    second = record(application, people, number="R-2", net="31500.00", vat="5985.00")
    certify(application, people, second)
    services.partial_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    assert application.paid_amount == D("5760.00")  # the cap: 80 % of 7,200 €
    with pytest.raises(DomainError, match="höchstens 80 %"):
        third = record(application, people, number="R-3", net="1000.00", vat="190.00")
        certify(application, people, third)
        services.partial_pay(application_id=application.pk, by=people.finance)

    services.application_certify_invoices(application_id=application.pk, by=people.caseworker)
    application.refresh_from_db()
    assert application.payable_amount == D("7200.00")  # 35,000 € net certified: the per-m² cap binds
    with django_capture_on_commit_callbacks(execute=True):
        services.application_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    assert application.state == State.PAID and application.paid_amount == D("7200.00")
    payments = [e.amount for e in application.ledger_entries.filter(kind="payment").order_by("pk")]
    assert sum(payments) == D("7200.00") and payments[-1] == D("1440.00")
    figures = case_figures(Allocation.objects.get(), application)
    assert figures.paid == figures.committed  # per share, exactly: nothing left open
    text = text_of(application.letters.get(kind=LetterKind.PAYMENT))
    assert "schon als Abschlag gezahlt: 5.760,00 €" in text and "jetzt überwiesen: 1.440,00 €" in text


def test_the_final_payment_on_lower_invoices_releases_the_rest(case, people):
    application = case("approved")
    invoice = record(application, people, net="8403.36", vat="1596.64")  # 10,000 € gross
    certify(application, people, invoice)
    services.partial_pay(application_id=application.pk, by=people.finance)
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker)
    services.application_pay(application_id=application.pk, by=people.finance)
    application.refresh_from_db()
    balance = allocation_balance(Allocation.objects.get())
    assert balance.committed == balance.paid == application.paid_amount == application.payable_amount
    assert application.payable_amount < D("7200.00")


def test_the_final_certification_waits_for_every_invoice_and_a_cut_needs_reasons(case, people):
    application = case("approved")
    invoice = record(application, people)
    before = frozen(application)
    with pytest.raises(DomainError, match="R-1 von Malerbetrieb Specht ist noch nicht geprüft"):
        services.application_certify_invoices(application_id=application.pk, by=people.caseworker)
    with pytest.raises(DomainError, match="begründen Sie die Kürzung") as missing:
        certify(application, people, invoice, amount="100.00")
    assert missing.value.status == 409  # it follows from the invoice as entered
    with pytest.raises(DomainError, match="0 bis 15.000,00 €"):
        certify(application, people, invoice, amount="15000.01")
    assert frozen(application) == before
    certify(application, people, invoice)
    with pytest.raises(DomainError, match="keine Rechnung zu prüfen"):
        certify(application, people, invoice)
    record(application, people, number="R-2")
    with pytest.raises(DomainError, match="schon geprüft"):
        certify(application, people, invoice)


def test_whoever_certified_an_invoice_may_not_pay_the_partial_payment(case, people, musterstadt):
    both = UserFactory(roles=["caseworker", "finance"], municipalities=[musterstadt])
    application = case("approved")
    invoice = record(application, people)
    services.invoice_certify(
        application_id=application.pk, by=both, invoice_id=invoice.pk, eligible_amount=invoice.net_amount
    )
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.partial_pay(application_id=application.pk, by=both)
    assert refusal.value.status == 403 and "andere Person" in str(refusal.value)
    assert frozen(application) == before
    services.partial_pay(application_id=application.pk, by=people.finance)


def test_no_partial_payment_without_a_certified_invoice_nor_where_the_programme_has_none(case, people, programme):
    application = case("approved")
    invoice = record(application, people)
    before = frozen(application)
    with pytest.raises(DomainError, match="keine geprüfte Rechnung"):
        services.partial_pay(application_id=application.pk, by=people.finance)
    certify(application, people, invoice)
    programme.partial_payment_percent = 0
    programme.save()
    with pytest.raises(DomainError, match="keine Abschlagszahlungen"):
        services.partial_pay(application_id=application.pk, by=people.finance)
    assert frozen(application)["partials"] == before["partials"] == []


def test_bad_invoice_rows_are_refused_with_words_and_nothing_is_kept(case, people):
    application = case("approved")
    document = upload(application, people.owner)
    before = frozen(application)
    cases = [
        (invoice_data(vat="20000.00"), "Umsatzsteuer kann nicht höher", 409),
        (invoice_data(issued_on=date.today() + timedelta(days=2)), "in der Zukunft", 409),
        (invoice_data(paid_on=date.today() + timedelta(days=2)), "in der Zukunft", 409),
        (invoice_data(number=""), "Rechnungsnummer", 400),
    ]
    for data, message, status in cases:
        with pytest.raises(DomainError, match=message) as refusal:
            services.invoice_record(application_id=application.pk, by=people.owner, document_id=document.pk, data=data)
        assert refusal.value.status == status
    assert frozen(application) == before
    services.invoice_record(
        application_id=application.pk, by=people.owner, document_id=document.pk, data=invoice_data()
    )
    with pytest.raises(DomainError, match="schon erfasst"):
        services.invoice_record(
            application_id=application.pk, by=people.owner, document_id=document.pk, data=invoice_data(number="R-9")
        )
    other = upload(application, people.owner)
    with pytest.raises(DomainError, match="R-1 von Malerbetrieb Specht ist schon erfasst"):
        services.invoice_record(
            application_id=application.pk, by=people.owner, document_id=other.pk, data=invoice_data()
        )


def test_a_zugferd_invoice_prefills_its_row_and_a_row_that_contradicts_it_is_refused(case, people):
    application = case("approved")
    document = upload(application, people.owner, facturx_pdf(cii_xml(number="RE-77")), name="zugferd.pdf")
    prefill = services.einvoice_prefill(document)
    assert (
        prefill["number"] == "RE-77" and prefill["net_amount"] == D("1000.00") and prefill["vat_amount"] == D("190.00")
    )
    assert prefill["issued_on"] == date(2025, 3, 14) and prefill["supplier"]
    contradicting = InvoiceInput(
        number="RE-77", issued_on=date(2025, 3, 14), supplier=prefill["supplier"], measure="facade",
        description="Anstrich", net_amount=D("1100.00"), vat_amount=D("190.00"),
    )  # fmt: skip
    with pytest.raises(DomainError, match="Nettobetrag weicht von der E-Rechnung ab") as refusal:
        services.invoice_record(
            application_id=application.pk, by=people.owner, document_id=document.pk, data=contradicting
        )
    assert refusal.value.status == 409 and not Invoice.objects.exists()
    agreeing = InvoiceInput(
        number="RE-77", issued_on=date(2025, 3, 14), supplier=prefill["supplier"], measure="facade",
        description="Anstrich", net_amount=D("1000.00"), vat_amount=D("190.00"),
    )  # fmt: skip
    invoice = services.invoice_record(
        application_id=application.pk, by=people.owner, document_id=document.pk, data=agreeing
    )
    assert invoice.gross_amount == D("1190.00")


@pytest.mark.parametrize("state", ["submitted", "checked", "paid"])
def test_invoices_are_entered_only_for_an_approved_case(case, people, state):
    application = case(state)
    document = Document.objects.filter(application=application).first()
    before = frozen(application)
    with pytest.raises(DomainError) as refusal:
        services.invoice_record(
            application_id=application.pk, by=people.owner, document_id=document.pk, data=invoice_data()
        )
    assert refusal.value.status == 409
    assert frozen(application) == before


PERSONAS = ["owner", "other_owner", "caseworker", "approver", "finance", "auditor", "foreign_caseworker"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_enters_an_invoice(case, people, persona):
    application = case("approved")
    document = upload(application, people.owner)
    before = frozen(application)
    call = lambda: services.invoice_record(  # noqa: E731
        application_id=application.pk, by=getattr(people, persona), document_id=document.pk, data=invoice_data()
    )
    if persona == "owner":
        call()
        return
    with pytest.raises(DomainError) as refusal:
        call()
    assert refusal.value.status == (404 if persona in {"other_owner", "foreign_caseworker"} else 403)
    assert frozen(application) == before


ALLOWED = {"certify_invoice": {"caseworker"}, "pay_partial": {"finance"}}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("step", ALLOWED)
def test_each_invoice_step_only_for_its_role(case, people, step, persona):
    application = case("approved")
    invoice = record(application, people)
    if step == "pay_partial":
        certify(application, people, invoice)
    before = frozen(application)
    kwargs = {"invoice_id": invoice.pk, "eligible_amount": invoice.net_amount} if step == "certify_invoice" else {}
    call = lambda: services.SERVICES[step](application_id=application.pk, by=getattr(people, persona), **kwargs)  # noqa: E731
    if persona in ALLOWED[step]:
        call()
        assert frozen(application) != before
        return
    with pytest.raises(DomainError) as refusal:
        call()
    assert refusal.value.status == (404 if persona in {"other_owner", "foreign_caseworker"} else 403)
    assert frozen(application) == before


def test_after_the_final_certification_no_invoice_step_is_possible(case, people):
    application = case("approved")
    invoice = record(application, people)
    certify(application, people, invoice)
    services.application_certify_invoices(application_id=application.pk, by=people.caseworker)
    with pytest.raises(DomainError, match="Schlussrechnung ist schon bestätigt"):
        record(application, people, number="R-2")
    with pytest.raises(DomainError, match="Schlussrechnung"):
        services.partial_pay(application_id=application.pk, by=people.finance)


def test_the_owner_enters_a_zugferd_invoice_in_the_portal_prefilled_and_sees_its_check(case, people):
    application = case("approved")
    document = upload(application, people.owner, facturx_pdf(cii_xml(number="RE-77")), name="zugferd.pdf")
    client = Client()
    client.force_login(people.owner)
    page = client.get(reverse("portal:application", args=[application.pk])).content.decode()
    url = reverse("portal:record_invoice", args=[application.pk, document.pk])
    assert url in page and "Angaben zur Rechnung „zugferd.pdf“ erfassen" in page
    form = client.get(url).content.decode()
    assert 'value="RE-77"' in form and 'value="1.000,00"' in form and 'value="2025-03-14"' in form
    assert "E-Rechnung" in form
    data = {
        "number": "RE-77", "issued_on": "2025-03-14", "supplier": "Malerbetrieb Muster GmbH", "measure": "facade",
        "description": "Anstrich", "net_amount": "1.000,00", "vat_amount": "190,00", "paid_on": "",
    }  # fmt: skip
    wrong = client.post(url, {**data, "net_amount": "1.100,00"})
    assert wrong.status_code == 409 and "weicht von der E-Rechnung ab" in wrong.content.decode()
    assert not Invoice.objects.exists()
    proof = SimpleUploadedFile("ueberweisung.pdf", pdf_bytes(), content_type="application/pdf")
    response = client.post(url, {**data, "paid_on": f"{date.today():%Y-%m-%d}", "payment_proof": proof}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Die Rechnung zugferd.pdf ist erfasst." in page and "wird geprüft" in page and "1.190,00 €" in page
    invoice = Invoice.objects.get()
    assert invoice.payment_proof.kind == Document.Kind.PAYMENT_PROOF and invoice.paid_on == date.today()
    assert client.get(url).status_code == 302  # entered once


def test_the_invoice_page_of_someone_else_is_not_found(case, people):
    application = case("approved")
    document = upload(application, people.owner)
    other = Client()
    other.force_login(people.other_owner)
    assert other.get(reverse("portal:record_invoice", args=[application.pk, document.pk])).status_code == 404


def test_the_caseworker_certifies_in_the_workspace_and_finance_pays_the_partial_payment_there(case, people):
    application = case("approved")
    invoice = record(application, people, net="4000.00", vat="760.00")
    caseworker = Client()
    caseworker.force_login(people.caseworker)
    queue = caseworker.get(reverse("workspace:start")).content.decode()
    assert application.file_number in queue and "Rechnung prüfen" in queue
    page = caseworker.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert "Rechnung R-1 von Malerbetrieb Specht prüfen" in page
    url = reverse("workspace:certify_invoice", args=[application.pk, invoice.pk])
    refused = caseworker.post(url, {"eligible_amount": "3.000,00", "reason": ""})
    assert refused.status_code == 409 and "begründen Sie die Kürzung" in refused.content.decode()
    caseworker.post(url, {"eligible_amount": "3.000,00", "reason": "Gerüst doppelt"})
    invoice.refresh_from_db()
    assert invoice.eligible_amount == D("3000.00") and invoice.cut_reason == "Gerüst doppelt"

    finance = Client()
    finance.force_login(people.finance)
    queue = finance.get(reverse("workspace:start")).content.decode()
    assert application.file_number in queue and "Abschlag auszahlen" in queue
    finance.post(reverse("workspace:step", args=[application.pk, "pay_partial"]), {"comment": ""})
    application.refresh_from_db()
    assert application.partial_payments.count() == 1 and application.paid_amount > 0
    certify_page = caseworker.get(reverse("workspace:certify", args=[application.pk])).content.decode()
    assert 'value="3.000,00"' in certify_page  # the final certification starts from the certified rows


def test_the_api_enters_certifies_and_pays_a_partial_payment(case, people):
    application = case("approved")
    document = upload(application, people.owner)

    def client(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return c

    base = f"/api/applications/{application.pk}"
    body = {
        "document": document.pk, "number": "R-1", "issued_on": f"{date.today():%Y-%m-%d}", "supplier": "Specht",
        "measure": "facade", "description": "Anstrich", "net_amount": "4000.00", "vat_amount": "760.00",
    }  # fmt: skip
    assert client(people.finance).post(f"{base}/record-invoice/", body, format="json").status_code == 403
    assert (
        client(people.owner).post(f"{base}/record-invoice/", {**body, "number": ""}, format="json").status_code == 400
    )
    created = client(people.owner).post(f"{base}/record-invoice/", body, format="json")
    assert created.status_code == 201, created.json()
    invoice = created.json()["invoices"][0]
    assert invoice["gross_amount"] == "4760.00" and invoice["certified_at"] is None
    certify_body = {"invoice": invoice["id"], "eligible_amount": "4000.00"}
    assert client(people.owner).post(f"{base}/certify-invoice/", certify_body, format="json").status_code == 403
    certified = client(people.caseworker).post(f"{base}/certify-invoice/", certify_body, format="json")
    assert certified.status_code == 200 and certified.json()["invoices"][0]["eligible_vat"] == "760.00"
    paid = client(people.finance).post(f"{base}/pay-partial/", {}, format="json")
    assert paid.status_code == 200, paid.json()
    assert paid.json()["partial_payments"][0]["number"] == 1
    again = client(people.finance).post(f"{base}/pay-partial/", {}, format="json")
    assert again.status_code == 409 and again.json()["reasons"]
    final = client(people.caseworker).post(f"{base}/certify-invoices/", {}, format="json")
    assert final.status_code == 200 and final.json()["payable_amount"]


def test_a_fault_when_the_row_is_saved_leaves_neither_row_nor_the_proof_of_payment(case, people, settings):
    application = case("approved")
    document = upload(application, people.owner)
    before = frozen(application)
    files = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    proof = SimpleUploadedFile("ueberweisung.pdf", pdf_bytes(), content_type="application/pdf")
    with mock.patch.object(Invoice, "save", side_effect=RuntimeError("fault injected")), pytest.raises(RuntimeError):
        services.invoice_record(
            application_id=application.pk,
            by=people.owner,
            document_id=document.pk,
            data=invoice_data(),
            payment_proof=proof,
        )
    assert frozen(application) == before
    assert sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()) == files


def test_after_a_partial_payment_the_case_cannot_be_withdrawn(case, people, client):
    application = case("approved")
    invoice = record(application, people)
    certify(application, people, invoice)
    services.partial_pay(application_id=application.pk, by=people.finance)
    before = frozen(application)
    with pytest.raises(DomainError, match="schon ein Abschlag gezahlt") as refusal:
        services.application_withdraw(application_id=application.pk, by=people.owner)
    assert refusal.value.status == 409 and frozen(application) == before
    client.force_login(people.owner)
    page = client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert reverse("portal:withdraw", args=[application.pk]) not in page
