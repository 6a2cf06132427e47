"""The application list as an Excel workbook (openpyxl write-only: constant memory for long lists)."""

from __future__ import annotations

from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from core.spreadsheets import euro_cell, text_cell


def applications_workbook(applications) -> bytes:
    """One row per application; amounts as numbers in euro format, dates as dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Anträge"))
    sheet.freeze_panes = "A2"
    headers = [
        _("Aktenzeichen"), _("Programm"), _("Antragsteller/in"), _("Straße"), _("Hausnummer"), _("PLZ"), _("Ort"),
        _("Status"), _("eingereicht am"), _("Gesamtkosten"), _("förderfähige Kosten"), _("errechneter Zuschuss"),
        _("bewilligter Zuschuss"), _("ausgezahlt"),
    ]  # fmt: skip
    bold = Font(bold=True)
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)

    def money(value):
        return euro_cell(sheet, value)

    def day(value):
        cell = WriteOnlyCell(sheet, value=timezone.localtime(value).date() if value else None)
        cell.number_format = "DD.MM.YYYY"
        return cell

    for a in applications:
        prop = a.property
        texts = [a.file_number, a.programme.name, a.applicant, prop.street, prop.house_number, prop.postcode, prop.city,
                 a.get_state_display()]  # fmt: skip
        sheet.append([
            *(text_cell(sheet, t) for t in texts), day(a.submitted_at), money(a.total_costs), money(a.eligible_costs),
            money(a.computed_grant), money(a.approved_grant), money(a.paid_amount),
        ])  # fmt: skip
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
