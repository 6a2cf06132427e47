"""The SEPA credit-transfer file (pain.001) of a run, made and validated against its XSD by sepaxml, and the same
run as a workbook for cash systems that import tables."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError as SchemaError

from core.errors import DomainError
from core.spreadsheets import euro_cell, text_cell

from .models import PaymentRun


class _Transfer(SepaTransfer):
    """sepaxml's transfer with the run's own message id (it makes a random one when it builds the header)."""

    def __init__(self, config: dict, schema: str, message_id: str):
        self._message_id = message_id
        super().__init__(config, schema=schema, clean=True)

    def _create_header(self) -> None:
        self.msg_id = self._message_id
        super()._create_header()


def pain001(run: PaymentRun) -> bytes:
    """The run as pain.001 in the municipality's version (001.001.09 by default), validated before it is given out."""
    municipality = run.municipality
    config = {
        "name": municipality.debtor_name[:70],
        "IBAN": municipality.debtor_iban.replace(" ", ""),
        "batch": True,
        "currency": "EUR",
    }
    if municipality.debtor_bic:
        config["BIC"] = municipality.debtor_bic
    transfer = _Transfer(config, run.schema, run.message_id)
    for item in run.items.order_by("id"):
        payment = {
            "name": item.payee,
            "IBAN": item.iban,
            "amount": int(item.amount * 100),
            "execution_date": run.value_date,
            "description": item.purpose,
            "endtoend_id": item.end_to_end_id,
        }
        if item.bic:
            payment["BIC"] = item.bic
        transfer.add_payment(payment)
    try:
        return transfer.export(validate=True)
    except SchemaError as error:
        raise DomainError(str(error)) from None


def workbook(run: PaymentRun) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Zahlungslauf")
    sheet.append(["Ende-zu-Ende-Referenz", "Aktenzeichen", "Empfänger/in", "IBAN", "BIC", "Betrag", "Verwendungszweck",
                  "Ausführungstag"])  # fmt: skip
    for item in run.items.select_related("application").order_by("id"):
        sheet.append([text_cell(sheet, item.end_to_end_id), text_cell(sheet, item.application.file_number),
                      text_cell(sheet, item.payee), text_cell(sheet, item.iban), text_cell(sheet, item.bic),
                      euro_cell(sheet, item.amount), text_cell(sheet, item.purpose), run.value_date])  # fmt: skip
    target = io.BytesIO()
    book.save(target)
    return target.getvalue()


def order_pdf(run: PaymentRun) -> bytes:
    """The payment order (Auszahlungsanordnung): every transfer with its "sachlich richtig", the run's "angeordnet"."""
    from django.template.loader import render_to_string
    from weasyprint import HTML

    items = run.items.select_related("application__invoices_certified_by").order_by("id")
    html = render_to_string("payments/order.html", {"run": run, "items": items})
    return HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
