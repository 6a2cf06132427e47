"""The proof-of-use statement (Verwendungsnachweis) as an Excel workbook and as a PDF.

Every number comes from the ledger through ``reports.selectors.statement_rows`` (SQL aggregates
per application and funding share), so the workbook's totals equal ``allocation_balance`` to the
cent. The workbook is written in openpyxl's write-only mode while the rows stream from the
database: memory stays flat however many rows there are. ``write_statement`` is the entry point
for the Celery task, the management command and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from budgets.models import SHARE_LABELS, SHARES, Allocation, LedgerEntry
from budgets.selectors import allocation_balance_by_share, budget_years_of
from core.money import CENT, ZERO
from core.money import EXCEL_EURO_FORMAT as EURO
from core.spreadsheets import euro_cell, text_cell
from grants.models import GrantApplication, MeasureKind, Programme

from .selectors import (
    statement_allocations,
    statement_payments,
    statement_reclaims,
    statement_rows,
    statement_state_counts,
)

DATE = "DD.MM.YYYY"
PAPERSIZE_A4 = "9"
FUNDED_STATES = {
    GrantApplication.State.APPROVED,
    GrantApplication.State.PAID,
    GrantApplication.State.DOCUMENTED,
}
# Columns of the numerical statement; the money columns are summed in the total row.
MAIN_COLUMNS = [
    ("file_number", "Aktenzeichen", 16), ("programme", "Programm", 26), ("guideline", "Richtlinie", 20),
    ("applicant", "Antragsteller/in", 28), ("property", "Grundstück", 32), ("measure", "Maßnahme", 24),
    ("state", "Status", 14),
    ("approved_at", "bewilligt am", 12), ("paid_at", "ausgezahlt am", 12),
    ("total_costs", "Gesamtkosten", 15), ("eligible_costs", "förderfähige Kosten", 15),
    ("approved_grant", "bewilligter Zuschuss", 15), ("committed_total", "gebunden", 15),
    ("paid_in_year", "ausgezahlt im Jahr", 15), ("paid_total", "ausgezahlt insgesamt", 15),
    *((f"paid_{share}", f"davon {SHARE_LABELS[share]}", 14) for share in SHARES),
]  # fmt: skip
MAIN_MONEY_FROM = "total_costs"
SHARE_COLUMNS = [
    ("file_number", "Aktenzeichen", 16), ("applicant", "Antragsteller/in", 28),
    ("committed_total", "gebunden", 15),
    *((f"committed_{share}", f"gebunden {SHARE_LABELS[share]}", 15) for share in SHARES),
    ("paid_total", "ausgezahlt", 15),
    *((f"paid_{share}", f"ausgezahlt {SHARE_LABELS[share]}", 15) for share in SHARES),
]  # fmt: skip
SHARE_MONEY_FROM = "committed_total"


@dataclass
class StatementTotals:
    """What the summary sheet, the PDF and the tests need once the rows have streamed by."""

    rows: int = 0
    columns: dict[str, Decimal] = field(default_factory=dict)
    payments: int = 0
    payments_total: Decimal = ZERO
    funded_costs: Decimal = ZERO
    funded_eligible: Decimal = ZERO
    funded_grant: Decimal = ZERO
    # Summed as the rows go by, never kept per row: memory must not grow with the rows.
    processing_days_total: int = 0
    processing_days_count: int = 0

    def add(self, key: str, value: Decimal) -> None:
        self.columns[key] = self.columns.get(key, ZERO) + value

    @property
    def average_processing_days(self) -> Decimal | None:
        if not self.processing_days_count:
            return None
        average = Decimal(self.processing_days_total) / self.processing_days_count
        return average.quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def private_investment(self) -> Decimal:
        return self.funded_costs - self.funded_grant

    @property
    def private_investment_per_euro(self) -> Decimal | None:
        if not self.funded_grant:
            return None
        return (self.private_investment / self.funded_grant).quantize(CENT, ROUND_HALF_UP)


def _money(value) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(CENT)


def _day(value: datetime | None, zone=None):
    return timezone.localtime(value, zone).date() if value else None


@dataclass(frozen=True)
class _Labels:
    """The words a statement row needs, looked up once per statement instead of once per row."""

    measures: tuple[tuple[str, str], ...]
    states: dict[str, str]
    zone: object
    guideline: str = "Fassung %(number)s vom %(date)s"

    @classmethod
    def current(cls) -> _Labels:
        return cls(
            measures=tuple((f"has_{kind}", str(MeasureKind(kind).label)) for kind in MeasureKind.values),
            states={state: str(label) for state, label in GrantApplication.State.choices},
            zone=timezone.get_current_timezone(),
            guideline=_("Fassung %(number)s vom %(date)s"),
        )


def _row_values(row: dict, labels: _Labels) -> dict:
    """The statement row of one application, money as Decimal with two places."""
    values = {
        "file_number": row["file_number"],
        "programme": row["programme__name"],
        # The guideline version the notice applied (docs/domain.md, "Guideline versions").
        "guideline": labels.guideline
        % {
            "number": row["guideline_version__number"],
            "date": row["guideline_version__valid_from"].strftime("%d.%m.%Y"),
        }
        if row["guideline_version__number"]
        else "",
        "applicant": row["applicant__organisation"] or row["applicant__name"],
        "property": f"{row['property__street']} {row['property__house_number']}, "
        f"{row['property__postcode']} {row['property__city']}",
        "measure": ", ".join(label for flag, label in labels.measures if row[flag]),
        "state": labels.states[row["state"]],
        "approved_at": _day(row["approved_at"], labels.zone),
        "paid_at": _day(row["paid_at"], labels.zone),
        "total_costs": _money(row["total_costs"]),
        "eligible_costs": _money(row["eligible_costs"]),
        "approved_grant": _money(row["approved_grant"]),
        "paid_in_year": _money(row["paid_in_year"]),
    }
    for share in ("total", *SHARES):
        for key in ("committed", "paid", "commitment"):
            values[f"{key}_{share}"] = _money(row[f"{key}_{share}"])
    return values


class _Sheet:
    """A write-only sheet with a bold, frozen, filtered header row that repeats on every printed page."""

    def __init__(self, workbook: Workbook, title: str, columns: list[tuple[str, str, int]], money_from: str | None):
        self.sheet = workbook.create_sheet(title)
        self.columns = columns
        self.keys = [key for key, _label, _width in columns]
        self.money = set(self.keys[self.keys.index(money_from) :]) if money_from else set()
        for index, (_key, _label, width) in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.freeze_panes = "A2"
        self.sheet.print_title_rows = "1:1"
        self.sheet.page_setup.orientation = "landscape"
        self.sheet.page_setup.paperSize = PAPERSIZE_A4
        self.sheet.page_setup.fitToWidth = 1
        self.sheet.page_setup.fitToHeight = 0
        self.sheet.sheet_properties.pageSetUpPr.fitToPage = True
        self.sheet.print_options.gridLines = True
        self.rows = 0
        # One styled cell per column, written again with each row's value: openpyxl's write-only mode writes a
        # cell the moment it is appended, so a row needs no new cell objects (half the cost of a styled row).
        self._styled = {key: WriteOnlyCell(self.sheet) for key in self.keys}
        for key in self.money:
            self._styled[key].number_format = EURO
        self.append([_bold(self.sheet, _(label)) for _key, label, _width in columns])

    def append(self, cells) -> None:
        self.sheet.append(cells)
        self.rows += 1

    def add(self, values: dict) -> None:
        cells = []
        for key in self.keys:
            value = values.get(key)
            # Only styled cells need a cell object; plain values are cheaper for openpyxl to write.
            if key in self.money or hasattr(value, "isoformat"):
                cell = self._styled[key]
                if key not in self.money and cell.number_format != DATE:
                    cell.number_format = DATE
                cell.value = value
                value = cell
            elif isinstance(value, str) and value.startswith("="):
                value = text_cell(self.sheet, value)  # an owner's "=HYPERLINK(…)" stays text
            cells.append(value)
        self.append(cells)

    def close(self, label: str) -> None:
        """Filters over the data, then the total row: a SUM formula under every money column."""
        last = self.rows
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(self.keys))}{max(last, 1)}"
        cells = []
        for index, key in enumerate(self.keys, start=1):
            if index == 1:
                cells.append(_bold(self.sheet, label))
            elif key in self.money:
                column = get_column_letter(index)
                # Without data rows the range would point at the total row itself.
                cell = WriteOnlyCell(self.sheet, value=f"=SUM({column}2:{column}{last})" if last >= 2 else 0)
                cell.number_format = EURO
                cell.font = Font(bold=True)
                cells.append(cell)
            else:
                cells.append(None)
        self.append(cells)


def _bold(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


def _euro(sheet, value: Decimal | None, bold: bool = False):
    return euro_cell(sheet, value, bold=bold)


def narrative_draft(*, programmes: Iterable[Programme], year: int) -> str:
    """A generated draft of the Sachbericht from the year's figures, for staff to edit before export."""
    programmes = list(programmes)
    allocations = statement_allocations(programmes=programmes, year=year)
    counts = statement_state_counts(programmes=programmes, year=year)
    balances = [allocation_balance_by_share(a)["total"] for a in allocations]
    amount = sum((b.allocation for b in balances), ZERO)
    committed = sum((b.committed for b in balances), ZERO)
    paid = sum((b.paid for b in balances), ZERO)
    funded = sum(counts.get(s, 0) for s in FUNDED_STATES)
    done = counts.get(GrantApplication.State.DOCUMENTED, 0)
    names = ", ".join(p.name for p in programmes) or "–"
    with translation.override("de"):
        return render_to_string(
            "budgets/narrative_draft.txt",
            {
                "names": names,
                "year": year,
                "municipality": programmes[0].municipality if programmes else "",
                "amount": amount,
                "committed": committed,
                "paid": paid,
                "available": amount - committed,
                "received": sum(counts.values()),
                "funded": funded,
                "documented": done,
                "rejected": counts.get(GrantApplication.State.REJECTED, 0),
                "withdrawn": counts.get(GrantApplication.State.WITHDRAWN, 0),
            },
        ).strip()


def write_statement(
    programmes: Iterable[Programme],
    year: int,
    target: str | IO[bytes],
    *,
    narrative: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> StatementTotals:
    """Write the Verwendungsnachweis of the programmes for the programme year to ``target`` (path or file).

    Sheets: Übersicht (allocation, committed, paid, available in total and per funding share,
    applications by state, private investment per euro of grant, average processing days),
    Nachweis (one row per funded measure), Förderanteile (committed and paid per share per row),
    Belegliste (payments in date order), Sachbericht (the narrative and the certification).
    The number of queries does not depend on the number of rows; ``progress(done, total)`` is
    called at most about twenty times.
    """
    programmes = list(programmes)
    allocations = statement_allocations(programmes=programmes, year=year)
    with translation.override("de"):
        totals = _write(programmes, allocations, year, target, narrative=narrative, progress=progress)
    return totals


def _write(programmes, allocations: list[Allocation], year, target, *, narrative, progress) -> StatementTotals:
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(_("Übersicht"))
    main = _Sheet(workbook, _("Nachweis"), MAIN_COLUMNS, MAIN_MONEY_FROM)
    shares = _Sheet(workbook, _("Förderanteile"), SHARE_COLUMNS, SHARE_MONEY_FROM)
    payments = _Sheet(
        workbook,
        _("Belegliste"),
        [
            ("number", "lfd. Nr.", 8),
            ("booked_at", "Datum", 12),
            ("file_number", "Aktenzeichen", 16),
            ("payee", "Zahlungsempfänger/in", 30),
            ("reason", "Grund", 36),
            ("amount", "Betrag", 15),
            *((f"{share}_amount", SHARE_LABELS[share], 14) for share in SHARES),
        ],  # fmt: skip
        "amount",
    )
    story = workbook.create_sheet(_("Sachbericht"))

    totals = StatementTotals()
    labels = _Labels.current()
    rows = statement_rows(allocations, year=year)
    expected = rows.count() if progress else 0
    step = max(1, expected // 20)
    for row in rows.iterator(chunk_size=2000):
        values = _row_values(row, labels)
        main.add(values)
        shares.add(values)
        totals.rows += 1
        for key in {*main.money, *shares.money, *(f"commitment_{s}" for s in ("total", *SHARES))}:
            totals.add(key, values[key])
        if row["state"] in FUNDED_STATES:
            totals.funded_costs += values["total_costs"]
            totals.funded_eligible += values["eligible_costs"]
            totals.funded_grant += values["committed_total"]
        if row["approved_at"] and row["submitted_at"]:
            totals.processing_days_total += (row["approved_at"] - row["submitted_at"]).days
            totals.processing_days_count += 1
        if progress and totals.rows % step == 0:
            progress(totals.rows, expected)
    main.close(_("Summe"))
    shares.close(_("Summe"))

    for entry in statement_payments(allocations).iterator(chunk_size=2000):
        sign = -1 if entry["kind"] == LedgerEntry.Kind.RECLAIM else 1
        totals.payments += 1
        amount = sign * _money(entry["amount"])
        totals.payments_total += amount
        payments.add(
            {
                "number": totals.payments,
                "booked_at": _day(entry["booked_at"]),
                "file_number": entry["application__file_number"],
                "payee": entry["application__applicant__organisation"] or entry["application__applicant__name"],
                "reason": entry["comment"] or str(LedgerEntry.Kind(entry["kind"]).label),
                "amount": amount,
                **{f"{share}_amount": sign * _money(entry[f"{share}_amount"]) for share in SHARES},
            }
        )
    payments.close(_("Summe"))

    _write_summary(summary, programmes, allocations, year, totals)
    _write_narrative(story, narrative, programmes, year)
    workbook.save(target)
    if progress:
        progress(totals.rows, expected)
    return totals


def _write_summary(sheet, programmes, allocations, year: int, totals: StatementTotals) -> None:
    for column, width in zip("ABCDEF", (34, 18, 18, 18, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = PAPERSIZE_A4
    municipality = programmes[0].municipality if programmes else None
    row = 0

    def line(*cells):
        nonlocal row
        sheet.append(list(cells))
        row += 1

    title = WriteOnlyCell(sheet, value=_("Verwendungsnachweis %(year)s") % {"year": year})
    title.font = Font(bold=True, size=14)
    line(title)
    line(_("Kommune"), str(municipality or ""))
    line(_("Förderprogramm(e)"), ", ".join(p.name for p in programmes))
    line(_("Programmjahr"), year)
    line(_("erstellt am"), timezone.localtime().strftime("%d.%m.%Y %H:%M"))
    line()

    figures = summary_figures(programmes=programmes, allocations=allocations, year=year)
    headers = (_("Mittelausstattung"), _("Betrag"), _("gebunden"), _("ausgezahlt"), _("verfügbar"))
    line(*(_bold(sheet, t) for t in headers))
    first = row + 1
    for label, total in figures["allocations"]:
        line(label, *(_euro(sheet, v) for v in (total.allocation, total.committed, total.paid, total.available)))
    line(_bold(sheet, _("Summe")), *(_sum_cell(sheet, c, first, row) for c in "BCDE"))
    line()

    line(*(_bold(sheet, t) for t in (_("Förderanteil"), _("Mittelausstattung"), _("gebunden"), _("ausgezahlt"),
                                     _("verfügbar"))))  # fmt: skip
    first = row + 1
    for label, amount, committed, paid, available in figures["shares"]:
        line(label, *(_euro(sheet, v) for v in (amount, committed, paid, available)))
    line(_bold(sheet, _("Summe")), *(_sum_cell(sheet, c, first, row) for c in "BCDE"))
    line()

    line(_bold(sheet, _("Anträge nach Status")), _bold(sheet, _("Anzahl")))
    first = row + 1
    for label, count in figures["counts"]:
        line(label, count)
    line(_bold(sheet, _("Summe")), f"=SUM(B{first}:B{row})")
    line()

    line(_bold(sheet, _("Kennzahlen")))
    line(_("Gesamtkosten der geförderten Maßnahmen"), _euro(sheet, totals.funded_costs))
    line(_("Zuschuss (gebunden)"), _euro(sheet, totals.funded_grant))
    line(_("ausgelöste private Investitionen"), _euro(sheet, totals.private_investment))
    ratio = WriteOnlyCell(sheet, value=totals.private_investment_per_euro)
    ratio.number_format = '0.00 "€"'
    line(_("private Investitionen je Euro Zuschuss"), ratio)
    line(_("durchschnittliche Bearbeitungsdauer (Eingang bis Bewilligung) in Tagen"), totals.average_processing_days)
    line()
    # The budget years of each allocation, with the carry-overs booked between them (never moved silently).
    line(*(_bold(sheet, t) for t in (_("Haushaltsjahr"), _("Rahmen"), _("Übertrag"), _("gebunden"), _("ausgezahlt"),
                                     _("verfügbar"))))  # fmt: skip
    for label, year in figures["budget_years"]:
        line(label, *(_euro(sheet, v) for v in (year.frame, year.carried_in - year.carried_out, year.committed,
                                                  year.paid, year.available)))  # fmt: skip
    line()
    # Reclaims are in "ausgezahlt" already (payments − reclaims); the interest is not in the allocation at all.
    # The table stands before the financing rows, which come last, so a reader keyed by label finds those.
    line(*(_bold(sheet, t) for t in (_("Rückforderungen (§ 49a VwVfG)"), _("erstattet"), _("Zinsen vereinnahmt"))))
    for label, reclaimed, interest in figures["reclaims"]:
        line(label, _euro(sheet, reclaimed), _euro(sheet, interest))
    line()

    line(*(_bold(sheet, t) for t in ("", _("laut Bescheid"), _("laut Abrechnung"))))
    c = totals.columns
    line(_("Gesamtausgaben der geförderten Maßnahmen"), _euro(sheet, totals.funded_costs))
    line(_("davon förderfähig"), _euro(sheet, totals.funded_eligible))
    line(_("davon nicht förderfähig"), _euro(sheet, totals.funded_costs - totals.funded_eligible))
    line(_bold(sheet, _("Finanzierung der Zuschüsse")))
    for share in SHARES:
        line(str(SHARE_LABELS[share]), _euro(sheet, c.get(f"commitment_{share}", ZERO)),
             _euro(sheet, c.get(f"paid_{share}", ZERO)))  # fmt: skip
    line(
        _("Zuschuss insgesamt"),
        _euro(sheet, c.get("commitment_total", ZERO)),
        _euro(sheet, c.get("paid_total", ZERO)),
    )


def summary_figures(*, programmes, allocations: list[Allocation], year: int) -> dict:
    """Balances per allocation and per funding share, and the applications by state (one query each)."""
    allocation_rows, by_share = [], {share: [ZERO, ZERO, ZERO] for share in SHARES}
    for allocation in allocations:
        balances = allocation_balance_by_share(allocation)
        allocation_rows.append((f"{allocation.programme.name} {allocation.year}", balances["total"]))
        for share in SHARES:
            b = balances[share]
            by_share[share] = [by_share[share][0] + b.allocation, by_share[share][1] + b.committed,
                               by_share[share][2] + b.paid]  # fmt: skip
    counts = statement_state_counts(programmes=programmes, year=year)
    years_of = budget_years_of(allocations)
    return {
        "allocations": allocation_rows,
        "total": [
            sum((t.allocation for _l, t in allocation_rows), ZERO),
            sum((t.committed for _l, t in allocation_rows), ZERO),
            sum((t.paid for _l, t in allocation_rows), ZERO),
            sum((t.available for _l, t in allocation_rows), ZERO),
        ],  # fmt: skip
        "shares": [
            (str(SHARE_LABELS[share]), amount, committed, paid, amount - committed)
            for share, (amount, committed, paid) in by_share.items()
        ],
        "counts": [
            (str(state.label), counts.get(state.value, 0))
            for state in GrantApplication.State
            if state != GrantApplication.State.DRAFT
        ],
        "reclaims": _reclaim_lines(statement_reclaims(allocations)),
        "budget_years": [
            (f"{allocation.programme.name} {allocation.year} – {year.year}", year)
            for allocation in allocations
            for year in years_of[allocation.pk]
        ],
    }


def _reclaim_lines(reclaims: dict) -> list[tuple[str, Decimal, Decimal]]:
    """Per funding share and in total: principal reclaimed (in the ledger) and § 49a interest received (apart)."""
    return [
        *((str(SHARE_LABELS[s]), reclaims["reclaimed"][s], reclaims["interest"][s]) for s in SHARES),
        (_("Summe"), reclaims["reclaimed"]["total"], reclaims["interest"]["total"]),
    ]


def _sum_cell(sheet, column: str, first: int, last: int):
    cell = WriteOnlyCell(sheet, value=f"=SUM({column}{first}:{column}{last})" if last >= first else 0)
    cell.number_format = EURO
    cell.font = Font(bold=True)
    return cell


def _write_narrative(sheet, narrative: str, programmes, year: int) -> None:
    sheet.column_dimensions["A"].width = 110
    sheet.page_setup.paperSize = PAPERSIZE_A4
    wrap = Alignment(wrap_text=True, vertical="top")
    title = WriteOnlyCell(sheet, value=_("Sachbericht %(year)s") % {"year": year})
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    text = narrative.strip() or narrative_draft(programmes=programmes, year=year)
    for paragraph in text.replace("\r\n", "\n").split("\n\n"):
        cell = text_cell(sheet, paragraph.strip())
        cell.alignment = wrap
        sheet.append([cell])
    sheet.append([])
    sheet.append([_bold(sheet, _("Die Angaben sind sachlich und rechnerisch richtig."))])
    sheet.append([_("Ort, Datum: ______________________________")])
    sheet.append([_("sachlich richtig (Unterschrift): ______________________________")])
    sheet.append([_("rechnerisch richtig (Unterschrift): ______________________________")])


def render_statement_pdf(
    programmes: Iterable[Programme], year: int, *, totals: StatementTotals, narrative: str = ""
) -> bytes:
    """The same statement as a PDF/A-3b with the signature block ("sachlich und rechnerisch richtig")."""
    from weasyprint import HTML

    programmes = list(programmes)
    allocations = statement_allocations(programmes=programmes, year=year)
    with translation.override("de"):
        labels = _Labels.current()
        rows = [_row_values(row, labels) for row in statement_rows(allocations, year=year).iterator(chunk_size=2000)]
        c = totals.columns
        figures = summary_figures(programmes=programmes, allocations=allocations, year=year)
        html = render_to_string(
            "budgets/statement.html",
            {
                "year": year,
                "municipality": programmes[0].municipality if programmes else None,
                "scope": ", ".join(p.name for p in programmes),
                "today": timezone.localdate(),
                "figures": figures,
                "totals": totals,
                "not_eligible": totals.funded_costs - totals.funded_eligible,
                "financing": [
                    (SHARE_LABELS[s], c.get(f"commitment_{s}", ZERO), c.get(f"paid_{s}", ZERO)) for s in SHARES
                ],
                "grant_planned": c.get("commitment_total", ZERO),
                "grant_paid": c.get("paid_total", ZERO),
                "rows": rows,
                "main_totals": [
                    c.get(k, ZERO)
                    for k in (
                        "total_costs",
                        "eligible_costs",
                        "approved_grant",
                        "committed_total",
                        "paid_in_year",
                        "paid_total",
                    )
                ],  # fmt: skip
                "narrative": narrative.strip() or narrative_draft(programmes=programmes, year=year),
            },
        )
    return HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
