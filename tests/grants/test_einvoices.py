"""E-invoices (issue 15): a ZUGFeRD / Factur-X PDF or an XRechnung XML is read into exact data and kept
with the final invoice; every other embedded file, and any e-invoice that does not add up, stays refused.

The samples are made here: a blank PDF from pypdf, a minimal EN 16931 CII XML embedded with the
factur-x library, and a UBL XRechnung.
"""

import io
from datetime import date
from decimal import Decimal

import facturx
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject, TextStringObject

from grants.einvoices import einvoice_as_dict, read_einvoice_pdf, read_einvoice_xml
from grants.services import document_upload
from grants.uploads import content_type_of

from ..portal.conftest import blank_writer, written

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _german():
    with translation.override("de"):
        yield


def cii_xml(*, number="RE-2025-0042", net="1000.00", vat="190.00", gross="1190.00", line="1000.00", currency="EUR"):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocumentContext>
  <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
 </rsm:ExchangedDocumentContext>
 <rsm:ExchangedDocument>
  <ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20250314</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:IncludedSupplyChainTradeLineItem>
   <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
   <ram:SpecifiedTradeProduct><ram:Name>Fassadenanstrich</ram:Name></ram:SpecifiedTradeProduct>
   <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>5.00</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
   <ram:SpecifiedLineTradeDelivery>
    <ram:BilledQuantity unitCode="MTK">200</ram:BilledQuantity>
   </ram:SpecifiedLineTradeDelivery>
   <ram:SpecifiedLineTradeSettlement>
    <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>19</ram:RateApplicablePercent></ram:ApplicableTradeTax>
    <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{line}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
   </ram:SpecifiedLineTradeSettlement>
  </ram:IncludedSupplyChainTradeLineItem>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Malerbetrieb Muster GmbH</ram:Name>
    <ram:PostalTradeAddress><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID></ram:SpecifiedTaxRegistration>
   </ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Alice Eigentümerin</ram:Name></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeDelivery/>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
   <ram:ApplicableTradeTax><ram:CalculatedAmount>{vat}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{net}</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>19</ram:RateApplicablePercent></ram:ApplicableTradeTax>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>
    <udt:DateTimeString format="102">20250414</udt:DateTimeString>
   </ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:LineTotalAmount>{net}</ram:LineTotalAmount>
    <ram:TaxBasisTotalAmount>{net}</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="{currency}">{vat}</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>{gross}</ram:GrandTotalAmount>
    <ram:DuePayableAmount>{gross}</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


def ubl_xml(*, net="500.00", vat="95.00", gross="595.00") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0</cbc:CustomizationID>
 <cbc:ID>XR-77</cbc:ID>
 <cbc:IssueDate>2025-02-01</cbc:IssueDate>
 <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PartyTaxScheme><cbc:CompanyID>DE987654321</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  <cac:PartyLegalEntity><cbc:RegistrationName>Dachdeckerei Beispiel KG</cbc:RegistrationName></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PartyLegalEntity><cbc:RegistrationName>Alice Eigentümerin</cbc:RegistrationName></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingCustomerParty>
 <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount></cac:TaxTotal>
 <cac:LegalMonetaryTotal>
  <cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>
  <cbc:TaxExclusiveAmount currencyID="EUR">{net}</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">{gross}</cbc:TaxInclusiveAmount>
  <cbc:PayableAmount currencyID="EUR">{gross}</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
 <cac:InvoiceLine>
  <cbc:ID>1</cbc:ID>
  <cbc:InvoicedQuantity unitCode="H87">2.5</cbc:InvoicedQuantity>
  <cbc:LineExtensionAmount currencyID="EUR">300.00</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Dachrinne erneuern</cbc:Name></cac:Item>
 </cac:InvoiceLine>
 <cac:InvoiceLine>
  <cbc:ID>2</cbc:ID>
  <cbc:InvoicedQuantity unitCode="H87">1</cbc:InvoicedQuantity>
  <cbc:LineExtensionAmount currencyID="EUR">200.00</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Gerüst</cbc:Name></cac:Item>
 </cac:InvoiceLine>
</Invoice>
""".encode()


def blank_pdf() -> bytes:
    return written(blank_writer())


def facturx_pdf(xml: bytes | None = None, **generate) -> bytes:
    return facturx.generate_from_binary(blank_pdf(), xml or cii_xml(), **generate)


def facturx_pdf_with_javascript() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(facturx_pdf()))
    writer.add_open_action(JavaScript("app.alert('hallo');"))
    return written(writer)


def _facturx_writer() -> PdfWriter:
    return PdfWriter(clone_from=io.BytesIO(facturx_pdf()))


def facturx_pdf_with_launch() -> bytes:
    writer = _facturx_writer()
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    return written(writer)


def facturx_pdf_with_xfa() -> bytes:
    writer = _facturx_writer()
    form = DictionaryObject({NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): TextStringObject("<xdp/>")})
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    return written(writer)


def facturx_pdf_with_attachment_annotation() -> bytes:
    writer = _facturx_writer()
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): ArrayObject([FloatObject(10), FloatObject(10), FloatObject(50), FloatObject(50)]),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return written(writer)


def facturx_pdf_with_hidden_file() -> bytes:
    """A second embedded file stream no name tree points to: found by walking every object."""
    writer = _facturx_writer()
    hidden = DecodedStreamObject()
    hidden.set_data(b"MZ\x90\x00")
    hidden[NameObject("/Type")] = NameObject("/EmbeddedFile")
    writer._add_object(hidden)
    return written(writer)


def facturx_pdf_with_second_file() -> bytes:
    return facturx_pdf(attachments={"lieferschein.txt": {"filedata": b"Lieferschein 1"}})


def pdf_with_only(name: str, content: bytes) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment(name, content)
    return written(writer)


@pytest.fixture
def approved(case):
    return case("approved")


def upload(application, user, name, content, kind="invoice"):
    return document_upload(application_id=application.pk, by=user, kind=kind, file=SimpleUploadedFile(name, content))


def _nothing_stored(application, settings):
    assert not application.documents.filter(kind__in=["invoice", "quote"]).exclude(original_name="quote.pdf").exists()
    folder = settings.MEDIA_ROOT / "applications" / str(application.pk)
    assert not folder.exists() or not [p for p in folder.iterdir() if p.name.startswith("invoice-")]


# --- reading ------------------------------------------------------------------------------------------


def test_a_facturx_pdf_is_read_into_exact_amounts():
    invoice = read_einvoice_pdf(facturx_pdf(), "rechnung.pdf")
    assert invoice.syntax == "cii" and invoice.profile == "urn:cen.eu:en16931:2017"
    assert invoice.number == "RE-2025-0042" and invoice.issue_date == date(2025, 3, 14)
    assert invoice.supplier == "Malerbetrieb Muster GmbH" and invoice.supplier_vat_id == "DE123456789"
    assert invoice.buyer == "Alice Eigentümerin" and invoice.currency == "EUR"
    assert (invoice.net, invoice.vat, invoice.gross) == (Decimal("1000.00"), Decimal("190.00"), Decimal("1190.00"))
    assert [(line.description, line.quantity, line.net) for line in invoice.lines] == [
        ("Fassadenanstrich", Decimal("200"), Decimal("1000.00"))
    ]
    data = einvoice_as_dict(invoice)
    assert data["gross"] == "1190.00" and data["issue_date"] == "2025-03-14"
    assert data["lines"] == [{"description": "Fassadenanstrich", "quantity": "200", "net": "1000.00"}]


def test_an_xrechnung_in_ubl_and_in_cii_is_read():
    ubl = read_einvoice_xml(ubl_xml(), "xrechnung.xml")
    assert (ubl.syntax, ubl.number, ubl.issue_date) == ("ubl", "XR-77", date(2025, 2, 1))
    assert (ubl.supplier, ubl.supplier_vat_id) == ("Dachdeckerei Beispiel KG", "DE987654321")
    assert (ubl.net, ubl.vat, ubl.gross) == (Decimal("500.00"), Decimal("95.00"), Decimal("595.00"))
    assert [line.quantity for line in ubl.lines] == [Decimal("2.5"), Decimal("1")]
    cii = read_einvoice_xml(cii_xml(), "rechnung.xml")
    assert (cii.syntax, cii.number, cii.gross) == ("cii", "RE-2025-0042", Decimal("1190.00"))


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol3;</Invoice>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">
&xxe;</rsm:CrossIndustryInvoice>
"""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<Invoice><unclosed>", "beschädigt"),
        (BOMB, "DTD oder Entitäten"),
        (EXTERNAL, "DTD oder Entitäten"),
        ("\ufeff".encode() + BOMB.replace(b"<!DOCTYPE", b"<!doctype"), "DTD oder Entitäten"),
        (b"<html><body>hallo</body></html>", "weder eine CII- noch eine UBL-Rechnung"),
        (cii_xml(number=""), "Rechnungsnummer fehlt"),
        (cii_xml().replace(b"<ram:GrandTotalAmount>1190.00</ram:GrandTotalAmount>", b""), "Rechnungsbetrag fehlt"),
        (cii_xml(currency="USD"), "nur Rechnungen in Euro"),
        (cii_xml(gross="1200.00"), "ergeben nicht den Bruttobetrag"),
        (cii_xml(line="999.99"), "Die Positionen ergeben 999.99"),
        (ubl_xml(vat="95.01"), "ergeben nicht den Bruttobetrag"),
        (ubl_xml(net="NaN"), "kein Betrag"),
    ],
)
def test_an_xml_that_is_no_sound_invoice_is_refused_with_a_clear_message(content, reason):
    with pytest.raises(ValidationError) as refusal:
        read_einvoice_xml(content, "rechnung.xml")
    assert refusal.value.code == "einvoice"
    assert "„rechnung.xml“ ist keine gültige E-Rechnung" in refusal.value.messages[0]
    assert reason in refusal.value.messages[0]


# --- the upload checks ----------------------------------------------------------------------------------


def test_the_upload_check_accepts_an_einvoice_only_where_the_caller_allows_it():
    pdf, xml = io.BytesIO(facturx_pdf()), io.BytesIO(ubl_xml())
    assert content_type_of(pdf, "rechnung.pdf", einvoice=True) == "application/pdf"
    assert content_type_of(xml, "rechnung.xml", einvoice=True) == "application/xml"
    for file in (pdf, xml):
        with pytest.raises(ValidationError):
            content_type_of(file, "rechnung")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (facturx_pdf_with_javascript, "JavaScript"),
        (facturx_pdf_with_second_file, "genau eine eingebettete Datei"),
        (facturx_pdf_with_launch, "Programm startet"),
        (facturx_pdf_with_xfa, "XFA-Formular"),
        (facturx_pdf_with_attachment_annotation, "Anhänge"),
        (facturx_pdf_with_hidden_file, "Anhänge"),
        (lambda: pdf_with_only("rechnung.exe", b"MZ\x90\x00"), "heißt „rechnung.exe“"),
        (lambda: pdf_with_only("factur-x.xml", b"<nicht xml"), "beschädigt"),
        (lambda: pdf_with_only("factur-x.xml", ubl_xml()), "keine Rechnung im CII-Format"),
        (
            lambda: pdf_with_only(
                "factur-x.xml", cii_xml().replace(b"<ram:TypeCode>380", b"<ram:Bogus/><ram:TypeCode>380")
            ),
            "Schema",
        ),
    ],
)
def test_every_other_embedded_file_stays_refused_for_an_invoice(approved, people, settings, make, reason):
    with pytest.raises(ValidationError) as refusal:
        upload(approved, people.owner, "rechnung.pdf", make())
    assert reason in refusal.value.messages[0]
    _nothing_stored(approved, settings)


def test_an_embedded_file_under_another_name_is_refused():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("rechnung.xml", cii_xml())
    with pytest.raises(ValidationError) as refusal:
        content_type_of(io.BytesIO(written(writer)), "rechnung.pdf", einvoice=True)
    assert "heißt „rechnung.xml“" in refusal.value.messages[0]


def test_the_sample_really_carries_one_embedded_file():
    assert [a.name for a in PdfReader(io.BytesIO(facturx_pdf())).attachment_list] == ["factur-x.xml"]


# --- the upload service -----------------------------------------------------------------------------------


def test_a_facturx_pdf_is_accepted_as_final_invoice_and_its_data_kept(approved, people):
    document = upload(approved, people.owner, "schlussrechnung.pdf", facturx_pdf())
    document.refresh_from_db()
    assert document.original_name == "schlussrechnung.pdf"
    assert document.einvoice["number"] == "RE-2025-0042"
    assert document.einvoice["supplier"] == "Malerbetrieb Muster GmbH"
    assert (Decimal(document.einvoice["net"]), Decimal(document.einvoice["vat"])) == (
        Decimal("1000.00"),
        Decimal("190.00"),
    )
    assert Decimal(document.einvoice["gross"]) == Decimal("1190.00")


def test_a_plain_pdf_invoice_keeps_no_einvoice_data(approved, people):
    assert upload(approved, people.owner, "rechnung.pdf", blank_pdf()).einvoice == {}


def test_an_xrechnung_is_accepted_as_final_invoice_and_served_only_as_download(approved, people, client):
    document = upload(approved, people.owner, "xrechnung.xml", ubl_xml())
    assert document.original_name == "xrechnung.xml" and document.file.name.endswith(".xml")
    assert document.einvoice["number"] == "XR-77" and document.einvoice["syntax"] == "ubl"
    client.force_login(people.owner)
    response = client.get(reverse("portal:document", args=[document.pk]))
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_same_einvoice_is_refused_as_a_quote(draft_with_quote_kind, people, settings):
    with pytest.raises(ValidationError) as refusal:
        upload(draft_with_quote_kind, people.owner, "angebot.pdf", facturx_pdf(), kind="quote")
    assert "eingebettete Dateien" in refusal.value.messages[0]
    with pytest.raises(ValidationError):
        upload(draft_with_quote_kind, people.owner, "angebot.xml", ubl_xml(), kind="quote")
    assert not draft_with_quote_kind.documents.exists()


@pytest.fixture
def draft_with_quote_kind(programme, people):
    from tests.factories import make_application

    return make_application(programme=programme, applicant=people.alice, with_documents=False)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("rechnung.xml", b"<Invoice", "beschädigt"),
        ("rechnung.xml", BOMB, "DTD oder Entitäten"),
        ("rechnung.xml", cii_xml(gross="1200.00"), "ergeben nicht den Bruttobetrag"),
    ],
)
def test_a_broken_or_false_einvoice_stores_nothing(approved, people, settings, name, content, reason):
    with pytest.raises(ValidationError) as refusal:
        upload(approved, people.owner, name, content)
    assert f"„{name}“ ist keine gültige E-Rechnung" in refusal.value.messages[0] and reason in refusal.value.messages[0]
    _nothing_stored(approved, settings)


# --- through the portal ---------------------------------------------------------------------------------------


def test_the_owner_hands_in_a_facturx_pdf_and_sees_its_data_on_the_case_page(approved, people, client):
    client.force_login(people.owner)
    response = client.post(
        reverse("portal:final_documents", args=[approved.pk]),
        {"kind": "invoice", "files": [SimpleUploadedFile("schlussrechnung.pdf", facturx_pdf())]},
    )
    assert response.status_code == 302
    assert approved.documents.get(kind="invoice").einvoice["number"] == "RE-2025-0042"
    html = client.get(reverse("portal:application", args=[approved.pk])).content.decode()
    assert "RE-2025-0042" in html and "Malerbetrieb Muster GmbH" in html and "DE123456789" in html
    assert "14.03.2025" in html and "1.190,00" in html and "Fassadenanstrich" in html
    assert '<th scope="row"' in html


def test_staff_see_the_einvoice_on_the_workspace_case_page(approved, people, client):
    upload(approved, people.owner, "schlussrechnung.pdf", facturx_pdf())
    client.force_login(people.caseworker)
    html = client.get(reverse("workspace:application", args=[approved.pk])).content.decode()
    assert "RE-2025-0042" in html and "1.190,00" in html


def test_anonymising_the_case_removes_the_einvoice_data_with_the_file(approved, people):
    from grants.privacy import application_anonymise

    document = upload(approved, people.owner, "schlussrechnung.pdf", facturx_pdf())
    application_anonymise(application_id=approved.pk)
    document.refresh_from_db()
    assert not document.file and document.einvoice == {}
