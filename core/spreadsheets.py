"""Cells every workbook shares (export, statement, import template), for openpyxl's write-only mode."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .money import EXCEL_EURO_FORMAT


def text_cell(sheet: Any, value: Any) -> WriteOnlyCell:
    """A cell that is always text: a name like "=HYPERLINK(…)" from an owner must never become a formula."""
    cell = WriteOnlyCell(sheet, value=None if value is None else str(value))
    if cell.value is not None:
        cell.data_type = "s"
    return cell


def euro_cell(sheet: Any, value: Decimal | None, *, bold: bool = False) -> WriteOnlyCell:
    """An amount as a number in euro format (sums stay sums in the spreadsheet)."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = EXCEL_EURO_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell
