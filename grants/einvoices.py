"""Electronic invoices (EN 16931): ZUGFeRD / Factur-X PDFs and XRechnung XML, read into plain data.

A ZUGFeRD or Factur-X PDF carries the invoice twice: once as pages for people, once as a CII XML file
embedded in the PDF for machines. An XRechnung is the XML alone, in one of the two syntaxes EN 16931
allows: UN/CEFACT CII (rsm:CrossIndustryInvoice) or OASIS UBL 2.1 (Invoice, CreditNote).

The XML is parsed without a DTD, entities or network access; a file that declares any is refused.
Amounts are Decimal throughout; an invoice whose totals do not add up is refused, not repaired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

import facturx
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from lxml import etree
from pypdf import PdfReader

CII, UBL = "cii", "ubl"
# The names the standards give the embedded XML: Factur-X 1.0, ZUGFeRD 2.x (both spellings), XRechnung in a PDF.
EMBEDDED_NAMES = frozenset({"factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml"})
CURRENCY = "EUR"

_CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# A DTD is how entity bombs and external entities get in; an invoice never needs one.
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class EInvoiceLine:
    description: str
    quantity: Decimal
    net: Decimal


@dataclass(frozen=True)
class EInvoice:
    syntax: str  # "cii" or "ubl"
    profile: str  # the guideline (CII) or customization (UBL) identifier, e.g. urn:cen.eu:en16931:2017
    number: str
    issue_date: date | None
    supplier: str
    supplier_vat_id: str
    buyer: str
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    lines: tuple[EInvoiceLine, ...] = ()


def _refuse(name: str, why: str) -> ValidationError:
    return ValidationError(
        _("„%(name)s“ ist keine gültige E-Rechnung: %(why)s") % {"name": name, "why": why}, code="einvoice"
    )


def _parse(data: bytes, name: str) -> Any:
    """The XML's root element, parsed without DTD, entities or network; anything else is refused."""
    if _DECLARATION.search(data):
        raise _refuse(name, _("Die XML-Datei enthält eine DTD oder Entitäten; das ist nicht erlaubt."))
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        raise _refuse(name, _("Die XML-Datei ist beschädigt oder keine XML-Datei.")) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # a second net for encodings the scan above misses
        raise _refuse(name, _("Die XML-Datei enthält eine DTD oder Entitäten; das ist nicht erlaubt."))
    return root


def _text(node: Any, path: str, namespaces: dict[str, str]) -> str:
    found = node.xpath(path, namespaces=namespaces)
    return " ".join((found[0].text or "").split()) if found else ""


def _optional_amount(node: Any, path: str, namespaces: dict[str, str], name: str) -> Decimal | None:
    text = _text(node, path, namespaces)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise _refuse(name, _("„%(value)s“ ist kein Betrag.") % {"value": text[:40]})
    return value


def _amount(node: Any, path: str, namespaces: dict[str, str], name: str) -> Decimal:
    value = _optional_amount(node, path, namespaces, name)
    if value is None:
        raise _refuse(name, _("Ein Rechnungsbetrag fehlt."))
    return value


def _date(text: str, pattern: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, pattern).date()
    except ValueError:
        raise _refuse(name, _("Das Rechnungsdatum „%(value)s“ ist ungültig.") % {"value": text[:40]}) from None


def _checked(invoice: EInvoice, name: str, line_total: Decimal | None) -> EInvoice:
    """The invoice when it has a number and its totals add up; ValidationError otherwise."""
    if not invoice.number:
        raise _refuse(name, _("Die Rechnungsnummer fehlt."))
    if invoice.currency != CURRENCY:
        raise _refuse(
            name,
            _("Die Rechnung lautet auf „%(currency)s“; wir nehmen nur Rechnungen in Euro (EUR) an.")
            % {"currency": invoice.currency or "?"},
        )
    if invoice.net + invoice.vat != invoice.gross:
        raise _refuse(
            name,
            _("Nettobetrag %(net)s und Umsatzsteuer %(vat)s ergeben nicht den Bruttobetrag %(gross)s.")
            % {"net": invoice.net, "vat": invoice.vat, "gross": invoice.gross},
        )
    if invoice.lines:
        lines = sum((line.net for line in invoice.lines), Decimal(0))
        expected = invoice.net if line_total is None else line_total
        if lines != expected:
            raise _refuse(
                name,
                _("Die Positionen ergeben %(lines)s, die Rechnung nennt als Summe %(total)s.")
                % {"lines": lines, "total": expected},
            )
    return invoice


def _cii(root: Any, name: str) -> EInvoice:
    ns = _CII_NS
    trade = root.xpath("rsm:SupplyChainTradeTransaction", namespaces=ns)
    if not trade:
        raise _refuse(name, _("Die Angaben zum Rechnungsvorgang fehlen."))
    trade = trade[0]
    seller = "ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
    settlement = "ram:ApplicableHeaderTradeSettlement"
    totals = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    currency = _text(trade, f"{settlement}/ram:InvoiceCurrencyCode", ns)
    # BT-110: the VAT total in the invoice's currency (a second one, BT-111, may be in the accounting currency).
    vat = _amount(trade, f"{totals}/ram:TaxTotalAmount[not(@currencyID) or @currencyID='{currency}']", ns, name)
    lines = tuple(
        EInvoiceLine(
            description=_text(item, "ram:SpecifiedTradeProduct/ram:Name", ns),
            quantity=_optional_amount(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", ns, name)
            or Decimal(0),
            net=_amount(
                item,
                "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                ns,
                name,
            ),
        )
        for item in trade.xpath("ram:IncludedSupplyChainTradeLineItem", namespaces=ns)
    )
    invoice = EInvoice(
        syntax=CII,
        profile=_text(root, "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", ns),
        number=_text(root, "rsm:ExchangedDocument/ram:ID", ns),
        issue_date=_date(
            _text(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", ns)[:8], "%Y%m%d", name
        ),
        supplier=_text(trade, f"{seller}/ram:Name", ns),
        supplier_vat_id=_text(trade, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']", ns),
        buyer=_text(trade, "ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/ram:Name", ns),
        currency=currency,
        net=_amount(trade, f"{totals}/ram:TaxBasisTotalAmount", ns, name),
        vat=vat,
        gross=_amount(trade, f"{totals}/ram:GrandTotalAmount", ns, name),
        lines=lines,
    )
    return _checked(invoice, name, _optional_amount(trade, f"{totals}/ram:LineTotalAmount", ns, name))


def _party_name(party: str) -> str:
    return f"({party}/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName | {party}/cac:Party/cac:PartyName/cbc:Name)"


def _ubl(root: Any, name: str) -> EInvoice:
    ns = _UBL_NS
    credit = etree.QName(root).namespace == _UBL_CREDIT_NOTE
    line, quantity = (
        ("cac:CreditNoteLine", "cbc:CreditedQuantity") if credit else ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    )
    currency = _text(root, "cbc:DocumentCurrencyCode", ns)
    lines = tuple(
        EInvoiceLine(
            description=_text(item, "cac:Item/cbc:Name", ns),
            quantity=_optional_amount(item, quantity, ns, name) or Decimal(0),
            net=_amount(item, "cbc:LineExtensionAmount", ns, name),
        )
        for item in root.xpath(line, namespaces=ns)
    )
    supplier = "cac:AccountingSupplierParty"
    invoice = EInvoice(
        syntax=UBL,
        profile=_text(root, "cbc:CustomizationID", ns),
        number=_text(root, "cbc:ID", ns),
        issue_date=_date(_text(root, "cbc:IssueDate", ns), "%Y-%m-%d", name),
        supplier=_text(root, _party_name(supplier), ns),
        supplier_vat_id=_text(root, f"{supplier}/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", ns),
        buyer=_text(root, _party_name("cac:AccountingCustomerParty"), ns),
        currency=currency,
        net=_amount(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", ns, name),
        # BT-110: the VAT total in the invoice's currency.
        vat=_amount(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']", ns, name),
        gross=_amount(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", ns, name),
        lines=lines,
    )
    line_total = _optional_amount(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount", ns, name)
    return _checked(invoice, name, line_total)


def _is_cii(root: Any) -> bool:
    return root.tag == f"{{{_CII_NS['rsm']}}}CrossIndustryInvoice"


def read_einvoice_xml(data: bytes, name: str) -> EInvoice:
    """An XRechnung (or any EN 16931 invoice) as XML, in CII or UBL syntax; ValidationError when it is none."""
    root = _parse(data, name)
    if _is_cii(root):
        return _cii(root, name)
    if root.tag in (f"{{{_UBL_INVOICE}}}Invoice", f"{{{_UBL_CREDIT_NOTE}}}CreditNote"):
        return _ubl(root, name)
    raise _refuse(name, _("Die XML-Datei ist weder eine CII- noch eine UBL-Rechnung (XRechnung)."))


def read_einvoice_cii(data: bytes, name: str) -> EInvoice:
    """The XML embedded in a ZUGFeRD / Factur-X PDF: CII only, valid against the schema of its profile."""
    root = _parse(data, name)
    if not _is_cii(root):
        raise _refuse(name, _("Die eingebettete Datei ist keine Rechnung im CII-Format (ZUGFeRD / Factur-X)."))
    try:
        level = facturx.get_level(root, "factur-x")
        facturx.xml_check_xsd(root, flavor="factur-x", level=level)
    except Exception:  # factur-x raises plain Exceptions for an unknown profile or a schema violation
        raise _refuse(name, _("Die eingebettete Rechnung entspricht nicht dem ZUGFeRD-/Factur-X-Schema.")) from None
    return _cii(root, name)


def embedded_files(reader: PdfReader) -> list[tuple[str, bytes]]:
    """Every file in the PDF's name tree of embedded files, as name and content."""
    return [(attachment.name, attachment.content) for attachment in reader.attachment_list]


def read_einvoice_pdf(data: bytes, name: str) -> EInvoice:
    """The invoice a ZUGFeRD / Factur-X PDF carries: its one embedded file, under a standard name."""
    try:
        files = embedded_files(PdfReader(BytesIO(data)))
    except Exception:  # pypdf raises many kinds of errors on a broken file; each means the same here
        raise _refuse(name, _("Die PDF-Datei ist nicht lesbar.")) from None
    if len(files) != 1:
        raise _refuse(
            name,
            _("Eine E-Rechnung als PDF trägt genau eine eingebettete XML-Datei; diese hat %(count)s.")
            % {"count": len(files)},
        )
    embedded, content = files[0]
    if embedded not in EMBEDDED_NAMES:
        raise _refuse(
            name,
            _(
                "Die eingebettete Datei heißt „%(embedded)s“, "
                "nicht factur-x.xml, zugferd-invoice.xml oder xrechnung.xml."
            )
            % {"embedded": embedded[:80]},
        )
    return read_einvoice_cii(content, name)


def einvoice_in_pdf(data: bytes, name: str) -> EInvoice | None:
    """The e-invoice in a PDF that carries embedded files, None for a PDF without any."""
    try:
        has_files = bool(list(PdfReader(BytesIO(data)).attachment_list))
    except Exception:  # pypdf raises many kinds of errors on a broken file; each means the same here
        raise _refuse(name, _("Die PDF-Datei ist nicht lesbar.")) from None
    return read_einvoice_pdf(data, name) if has_files else None


def einvoice_as_dict(invoice: EInvoice) -> dict[str, Any]:
    """The invoice as JSON-safe data to keep with its document: amounts as strings, the date in ISO format."""
    return {
        "syntax": invoice.syntax,
        "profile": invoice.profile,
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "supplier": invoice.supplier,
        "supplier_vat_id": invoice.supplier_vat_id,
        "buyer": invoice.buyer,
        "currency": invoice.currency,
        "net": str(invoice.net),
        "vat": str(invoice.vat),
        "gross": str(invoice.gross),
        "lines": [
            {"description": line.description, "quantity": str(line.quantity), "net": str(line.net)}
            for line in invoice.lines
        ],
    }
