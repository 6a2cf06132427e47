"""Excel import of legacy cases (Altfälle): one row per case, into applications with their ledger entries.

A municipality that starts mid-programme brings a spreadsheet of its cases. Each row becomes an
application created directly in its historical state (a service of this module, not a walk through
the lifecycle: the steps happened before Förderdesk), with the ledger entries that state implies:

- approved: a commitment of the approved grant (through ``ledger_commit``: locked, never over-committed);
- paid / documented: that commitment, then the payment and the release of the rest (through ``ledger_pay``,
  as the lifecycle's payment books them);
- submitted, checked, rejected, withdrawn: no entry.

The history gets one StateLog row with transition ``import``. Ledger entries carry the day of the
import as booking date (the ledger records when Förderdesk booked); the historical dates stay on the
application (``approved_at``, ``paid_at``). One transaction per run: all rows or none, unless the
user chooses to import the valid rows only; a refused row never leaves anything behind (savepoint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm_log.models import StateLog

from applicants.models import Applicant, Property, Role
from budgets.services import BudgetError, ledger_commit, ledger_pay
from core.decisions import Decision
from core.errors import Code, DomainError
from core.money import CENT

from .models import CostItem, GrantApplication, MeasureComponent, MeasureKind, Programme
from .services import approval_deadlines, next_file_number

State = GrantApplication.State

# Column title → key; titles are matched without case and surrounding spaces.
COLUMNS = {
    "Aktenzeichen": "file_number",
    "Antragsteller/in": "name",
    "Organisation": "organisation",
    "Straße": "street",
    "Hausnummer": "house_number",
    "PLZ": "postcode",
    "Ort": "city",
    "Maßnahme": "measure",
    "Fläche m²": "area_m2",
    "Gesamtkosten": "total_costs",
    "förderfähige Kosten": "eligible_costs",
    "bewilligter Zuschuss": "approved_grant",
    "ausgezahlt": "paid_amount",
    "eingereicht am": "submitted_on",
    "bewilligt am": "approved_on",
    "ausgezahlt am": "paid_on",
    "Status": "state",
}
REQUIRED = ["name", "street", "house_number", "postcode", "city", "measure", "area_m2", "total_costs", "state"]
FUNDED = {State.APPROVED, State.PAID, State.DOCUMENTED}
PAID = {State.PAID, State.DOCUMENTED}
IMPORTABLE_STATES = [State.SUBMITTED, State.CHECKED, State.APPROVED, State.PAID, State.DOCUMENTED,
                     State.REJECTED, State.WITHDRAWN]  # fmt: skip


class RowRefused(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(" ".join(reasons))


@dataclass
class LegacyCase:
    number: int
    file_number: str
    name: str
    organisation: str
    street: str
    house_number: str
    postcode: str
    city: str
    measure: str
    area_m2: Decimal
    total_costs: Decimal
    eligible_costs: Decimal
    approved_grant: Decimal | None
    paid_amount: Decimal | None
    submitted_on: date | None
    approved_on: date | None
    paid_on: date | None
    state: str


@dataclass
class RowResult:
    number: int
    imported: bool
    reasons: list[str] = field(default_factory=list)
    file_number: str = ""
    label: str = ""


@dataclass
class ImportReport:
    rows: list[RowResult] = field(default_factory=list)
    committed: bool = False
    error: str = ""

    @property
    def imported(self) -> list[RowResult]:
        return [r for r in self.rows if r.imported]

    @property
    def refused(self) -> list[RowResult]:
        return [r for r in self.rows if not r.imported]


def may_import(user, programme: Programme) -> Decision:
    """Caseworkers of the programme's municipality import; everyone else is refused (others as not found)."""
    if not (user.is_authenticated and user.is_municipal_staff and programme.municipality_id in user.municipality_ids):
        return Decision(False, _("Förderprogramm nicht gefunden."))
    if not user.has_role(Role.CASEWORKER):
        return Decision(False, _("Altfälle übernimmt die Sachbearbeitung."))
    return Decision(True)


# --- reading a row ---------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _amount(value, title: str, problems: list[str]) -> Decimal | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        # openpyxl reads numbers as float; two places are what a money cell holds.
        number = Decimal(str(value))
    else:
        text = _text(value).replace("€", "").replace(" ", "")
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})*(,\d+)?|-?\d+(,\d+)?", text):
            text = text.replace(".", "").replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            problems.append(_("„%(title)s“ ist keine Zahl: „%(value)s“.") % {"title": title, "value": _text(value)})
            return None
    if not number.is_finite() or number < 0 or number > Decimal("9999999.99"):
        problems.append(_("„%(title)s“ liegt außerhalb des Möglichen: %(value)s.") % {"title": title, "value": number})
        return None
    return number.quantize(CENT)


def _date(value, title: str, problems: list[str]) -> date | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(_text(value), pattern).date()
        except ValueError:
            continue
    problems.append(_("„%(title)s“ ist kein Datum: „%(value)s“.") % {"title": title, "value": _text(value)})
    return None


def _choice(value: str, choices) -> str | None:
    wanted = value.strip().lower()
    for choice in choices:
        if wanted in (choice.value.lower(), str(choice.label).lower()):
            return choice.value
    return None


def parse_row(number: int, raw: dict) -> LegacyCase:
    """One spreadsheet row as a legacy case; every problem of the row at once, in German."""
    title = {key: name for name, key in COLUMNS.items()}
    problems = [
        _("Pflichtfeld „%(title)s“ fehlt.") % {"title": title[key]} for key in REQUIRED if _text(raw.get(key)) == ""
    ]
    state = _choice(_text(raw.get("state")), IMPORTABLE_STATES) if _text(raw.get("state")) else None
    if _text(raw.get("state")) and state is None:
        problems.append(_("Unbekannter Status „%(value)s“.") % {"value": _text(raw.get("state"))})
    measure = _choice(_text(raw.get("measure")), MeasureKind) if _text(raw.get("measure")) else None
    if _text(raw.get("measure")) and measure is None:
        problems.append(_("Unbekannte Maßnahme „%(value)s“.") % {"value": _text(raw.get("measure"))})
    amounts = {
        key: _amount(raw.get(key), title[key], problems)
        for key in ("area_m2", "total_costs", "eligible_costs", "approved_grant", "paid_amount")
    }
    dates = {key: _date(raw.get(key), title[key], problems) for key in ("submitted_on", "approved_on", "paid_on")}
    if amounts["area_m2"] is not None and amounts["area_m2"] <= 0:
        problems.append(_("Die Fläche muss größer als 0 sein."))
    if state in FUNDED:
        for key in ("approved_grant", "approved_on"):
            if (amounts | dates)[key] is None and _text(raw.get(key)) == "":
                problems.append(
                    _("Für den Status „%(state)s“ fehlt „%(title)s“.")
                    % {"state": State(state).label, "title": title[key]}
                )
    if state in PAID:
        for key in ("paid_amount", "paid_on"):
            if (amounts | dates)[key] is None and _text(raw.get(key)) == "":
                problems.append(
                    _("Für den Status „%(state)s“ fehlt „%(title)s“.")
                    % {"state": State(state).label, "title": title[key]}
                )
    grant, paid = amounts["approved_grant"], amounts["paid_amount"]
    if state in PAID and grant is not None and paid is not None and paid > grant:
        problems.append(_("Ausgezahlt ist mehr als bewilligt."))
    if state in FUNDED and grant is not None and grant <= 0:
        problems.append(_("Ein bewilligter Fall braucht einen Zuschuss über 0 €."))
    if not re.fullmatch(r"\d{5}", _text(raw.get("postcode"))) and _text(raw.get("postcode")):
        problems.append(_("Die PLZ muss fünfstellig sein."))
    if problems:
        raise RowRefused(problems)
    return LegacyCase(
        number=number,
        file_number=_text(raw.get("file_number")),
        name=_text(raw.get("name")),
        organisation=_text(raw.get("organisation")),
        street=_text(raw.get("street")),
        house_number=_text(raw.get("house_number")),
        postcode=_text(raw.get("postcode")),
        city=_text(raw.get("city")),
        measure=measure,
        area_m2=amounts["area_m2"],
        total_costs=amounts["total_costs"],
        eligible_costs=amounts["eligible_costs"] if amounts["eligible_costs"] is not None else amounts["total_costs"],
        approved_grant=grant if state in FUNDED else None,
        paid_amount=paid if state in PAID else None,
        submitted_on=dates["submitted_on"],
        approved_on=dates["approved_on"] if state in FUNDED else None,
        paid_on=dates["paid_on"] if state in PAID else None,
        state=state,
    )


# --- the service -----------------------------------------------------------------------------------


def _moment(day: date | None):
    return timezone.make_aware(datetime.combine(day, time(12))) if day else None


@transaction.atomic
def application_import(*, programme: Programme, case: LegacyCase, by) -> GrantApplication:
    """Create one legacy case directly in its historical state, with the ledger entries that state implies.

    Refused (RowRefused, nothing written) when the address lies outside the funding area, the file
    number exists, the measure is not funded by the programme, or the allocation cannot carry the grant.
    """
    problems = []
    terms = programme.current_version
    if terms is None:
        raise RowRefused([_("Für dieses Programm ist noch keine Förderrichtlinie hinterlegt.")])
    if not terms.covers(case.street, case.house_number):
        problems.append(_("Die Adresse liegt nicht im Fördergebiet."))
    if case.measure not in set(terms.component_rules.values_list("component", flat=True)):
        problems.append(
            _("Das Programm fördert keine Maßnahme „%(kind)s“.") % {"kind": MeasureKind(case.measure).label}
        )
    if case.file_number and GrantApplication.objects.filter(programme=programme, file_number=case.file_number).exists():
        problems.append(_("Das Aktenzeichen %(file)s gibt es schon.") % {"file": case.file_number})
    if problems:
        raise RowRefused(problems)

    kind = Applicant.Kind.ORGANISATION if case.organisation else Applicant.Kind.PERSON
    address = {"street": case.street, "house_number": case.house_number, "postcode": case.postcode, "city": case.city}
    applicant = Applicant(name=case.name, organisation=case.organisation, kind=kind, **address)
    property_ = Property(registered_by=None, **address)
    try:
        applicant.full_clean()
        applicant.save()
        property_.full_clean()
        property_.save()
    except ValidationError as error:
        raise RowRefused([m for messages in error.message_dict.values() for m in messages]) from None

    year = (case.approved_on or case.submitted_on or timezone.localdate()).year
    file_number = case.file_number or next_file_number(programme, year)
    funded = case.state in FUNDED
    completion_deadline, invoice_deadline = approval_deadlines(programme, case.approved_on) if funded else (None, None)
    application = GrantApplication(
        # The protected FSM field is set once, at construction: the case's historical state.
        state=case.state,
        programme=programme,
        # A legacy case is taken over under the guideline version in force at the import.
        guideline_version=terms,
        applicant=applicant,
        property=property_,
        file_number=file_number,
        description=_("Altfall, übernommen aus Excel (Zeile %(row)s)") % {"row": case.number},
        submitted_at=_moment(case.submitted_on),
        total_costs=case.total_costs,
        eligible_costs=case.eligible_costs,
        computed_grant=case.approved_grant or Decimal("0.00"),
        approved_at=_moment(case.approved_on),
        approved_grant=case.approved_grant,
        budget_year=case.approved_on.year if funded else None,
        completion_deadline=completion_deadline,
        invoice_deadline=invoice_deadline,
        payable_amount=case.paid_amount,
        paid_at=_moment(case.paid_on),
        paid_amount=case.paid_amount,
    )
    application.save()
    component = MeasureComponent.objects.create(application=application, kind=case.measure, area_m2=case.area_m2)
    CostItem.objects.create(component=component, description=_("Kosten laut Altbestand"), net_amount=case.total_costs)

    if funded:
        reason = _("Übernahme Altfall %(file)s") % {"file": file_number}
        try:
            ledger_commit(
                programme_id=programme.pk, year=application.budget_year, application=application,
                amount=case.approved_grant, by=by, comment=reason,
            )  # fmt: skip
        except BudgetError as error:
            raise RowRefused(
                [_("Mittelausstattung überschritten oder nicht vorhanden: %(e)s") % {"e": error}]
            ) from None
        if case.state in PAID:
            ledger_pay(
                programme_id=programme.pk, year=application.budget_year, application=application,
                amount=case.paid_amount, by=by, comment=reason,
                # A legacy case's cash is accounted in its programme year: its budget years are not known.
                cash_year=application.budget_year,
            )  # fmt: skip
    StateLog.objects.create(
        content_object=application,
        transition="import",
        source_state=None,
        state=case.state,
        by=by,
        description=_("Altfall aus Excel übernommen (Zeile %(row)s)") % {"row": case.number},
    )
    return application


class _RollBack(Exception):
    pass


def read_rows(file) -> list[tuple[int, dict]]:
    """The rows of the first sheet as dicts by column key; raises RowRefused for a file that is no workbook."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception:
        raise RowRefused([_("Die Datei ist keine Excel-Arbeitsmappe (.xlsx).")]) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    by_title = {name.lower(): key for name, key in COLUMNS.items()}
    keys = [by_title.get(_text(title).lower()) for title in header]
    missing = [name for name, key in COLUMNS.items() if key in REQUIRED and key not in keys]
    if missing:
        raise RowRefused([_("Es fehlen Spalten: %(names)s.") % {"names": ", ".join(missing)}])
    result = []
    for number, values in enumerate(rows, start=2):
        if all(_text(v) == "" for v in values):
            continue
        result.append((number, {key: value for key, value in zip(keys, values, strict=False) if key}))
    workbook.close()
    return result


def import_workbook(*, programme_id: int, file, by, valid_only: bool = False) -> ImportReport:
    """Import a workbook of legacy cases in one transaction: all rows or none, or (valid_only) the valid ones."""
    programme = Programme.objects.select_related("municipality").filter(pk=programme_id).first()

    decision = may_import(by, programme) if programme else Decision(False, _("Förderprogramm nicht gefunden."))
    if not decision:
        staff = programme and by.is_authenticated and programme.municipality_id in by.municipality_ids
        raise DomainError(decision.reason, code=Code.FORBIDDEN if staff else Code.NOT_FOUND)
    report = ImportReport()
    try:
        rows = read_rows(file)
    except RowRefused as refusal:
        report.error = " ".join(refusal.reasons)
        return report
    try:
        with transaction.atomic():
            for number, raw in rows:
                label = _text(raw.get("file_number")) or _text(raw.get("name"))
                try:
                    case = parse_row(number, raw)
                    application = application_import(programme=programme, case=case, by=by)
                except RowRefused as refusal:
                    report.rows.append(RowResult(number, False, refusal.reasons, label=label))
                else:
                    report.rows.append(RowResult(number, True, file_number=application.file_number, label=label))
            if report.refused and not valid_only:
                raise _RollBack
            report.committed = True
    except _RollBack:
        for result in report.imported:
            result.imported = False
            result.reasons = [_("nicht übernommen: andere Zeilen sind fehlerhaft (alles oder nichts)")]
            result.file_number = ""
    return report


def write_import_template(target, rows=()) -> None:
    """A workbook with the import's columns (and optionally rows): the template staff fill in."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Altfälle"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, _title in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = 18
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([row.get(key) for key in COLUMNS.values()])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"
            elif isinstance(cell.value, Decimal | float):
                cell.number_format = '#,##0.00 "€"'
    workbook.save(target)
