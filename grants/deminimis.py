"""De-minimis aid: the single undertaking's ceiling over rolling three years, the declaration and the register.

The rules and their readings are in docs/domain.md, "De-minimis aid". Services here are called by
grants.services (submission, check, approval) and by the portal, the workspace and the API.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree as ET

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import Applicant, SingleUndertaking, User
from core.decisions import ALLOWED, Decision
from core.errors import Code, DomainError
from core.money import ZERO, format_euro

from .models import (
    DEMINIMIS,
    DeclaredAid,
    DeminimisDeclaration,
    DeminimisRegulation,
    GrantApplication,
    Revocation,
)
from .rules import decide

State = GrantApplication.State
Regulation = DeminimisRegulation
# The states of a case whose grant has been conferred and still stands (what a revocation left is approved_grant).
GRANTED_STATES = (State.APPROVED, State.PAID, State.DOCUMENTED)
# The aid the general ceiling (Art. 3(2) Reg. 2023/2831) counts together: all but SGEI aid, which counts only
# against the SGEI ceiling (Art. 5(1) Reg. 2023/2831, Art. 5(2) Reg. 2023/2832).
NOT_SGEI = frozenset({Regulation.GENERAL, Regulation.AGRICULTURE, Regulation.FISHERIES})
ALL = frozenset(Regulation.values)


def window(granted_on: date) -> tuple[date, date]:
    """The three years a grant on ``granted_on`` is counted with: that day and the days back to the same date
    three years earlier, that date itself excluded (a grant on 4 Dec 2023 is outside the window of 4 Dec 2026,
    one on 5 Dec 2023 inside). Both ends of the result are inclusive.
    """
    return granted_on - relativedelta(years=3) + timedelta(days=1), granted_on


def same_undertaking(applicant: Applicant) -> Q:
    """The cases of every applicant of the applicant's single undertaking (or of the applicant alone)."""
    if applicant.single_undertaking_id is not None:
        return Q(applicant__single_undertaking_id=applicant.single_undertaking_id)
    return Q(applicant_id=applicant.pk)


def signed_declaration(application: GrantApplication) -> DeminimisDeclaration | None:
    """The latest declaration signed by a submission: the one that counts."""
    return (
        application.deminimis_declarations.filter(signed_at__isnull=False)
        .prefetch_related("aids")
        .order_by("-signed_at", "-id")
        .first()
    )


def open_declaration(application: GrantApplication) -> DeminimisDeclaration | None:
    """The declaration the owner is writing, not yet signed."""
    return application.deminimis_declarations.filter(signed_at__isnull=True).prefetch_related("aids").first()


def current_declaration(application: GrantApplication) -> DeminimisDeclaration | None:
    """What the portal shows: the declaration being written, else the signed one."""
    return open_declaration(application) or signed_declaration(application)


@dataclass(frozen=True)
class Aid:
    granted_on: date
    amount: Decimal
    regulation: str
    source: str  # the granting body, or the case's file number for Förderdesk's own grants


@dataclass(frozen=True)
class Limit:
    ceiling: Decimal
    regulations: frozenset[str]
    used: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.ceiling - self.used, ZERO)


@dataclass(frozen=True)
class Position:
    """Where the single undertaking stands against the ceiling on a day of granting, without the new grant."""

    granted_on: date
    window_from: date
    regulation: str
    ceiling: Decimal
    declared: Decimal
    own: Decimal
    limits: tuple[Limit, ...]
    aids: tuple[Aid, ...]

    @property
    def used(self) -> Decimal:
        return self.declared + self.own

    @property
    def left(self) -> Decimal:
        """What the tightest of the limits leaves for the new grant."""
        return min(limit.left for limit in self.limits)

    def exceeded_by(self, grant: Decimal) -> bool:
        return grant > self.left


def _limits(regulation: str, ceiling: Decimal) -> list[tuple[Decimal, frozenset[str]]]:
    """The ceilings a grant under ``regulation`` must keep, each with the aid it counts (docs/domain.md)."""
    limits = [(ceiling, frozenset({regulation}) if regulation != Regulation.GENERAL else NOT_SGEI)]
    if regulation in (Regulation.AGRICULTURE, Regulation.FISHERIES):
        limits.append((DEMINIMIS[Regulation.GENERAL].ceiling, NOT_SGEI))
    if regulation != Regulation.SGEI:
        limits.append((DEMINIMIS[Regulation.SGEI].ceiling, ALL))
    else:
        limits[0] = (ceiling, ALL)
    return limits


def own_grants(applicant: Applicant, *, window_from: date, until: date, excluding: int | None) -> QuerySet:
    """Förderdesk's own de-minimis grants to the single undertaking granted in the window, across programmes and
    municipalities of the instance: what each still grants (``approved_grant``, lowered by a revocation decided).
    """
    return (
        GrantApplication.objects.filter(same_undertaking(applicant), state__in=GRANTED_STATES)
        .exclude(deminimis_regulation="")
        .exclude(pk=excluding)
        .filter(approved_at__date__gte=window_from, approved_at__date__lte=until)
    )


def position(application: GrantApplication, *, granted_on: date) -> Position:
    """The single undertaking's de-minimis aid in the three years up to ``granted_on``: declared and own."""
    regulation = application.deminimis_regulation or application.programme.deminimis_regulation
    ceiling = application.deminimis_ceiling or application.programme.deminimis_ceiling_in_force
    if not regulation or ceiling is None:
        raise DomainError(_("Die Zuschüsse dieses Programms sind keine De-minimis-Beihilfen."))
    window_from, until = window(granted_on)
    aids: list[Aid] = []
    declaration = signed_declaration(application)
    if declaration is not None:
        aids += [
            Aid(aid.granted_on, aid.amount, aid.regulation, aid.granting_body)
            for aid in declaration.aids.all()
            if window_from <= aid.granted_on <= until
        ]
    declared = sum((aid.amount for aid in aids), ZERO)
    for case in own_grants(application.applicant, window_from=window_from, until=until, excluding=application.pk):
        aids.append(
            Aid(
                timezone.localdate(case.approved_at),
                case.approved_grant or ZERO,
                case.deminimis_regulation,
                case.file_number,
            )
        )
    own = sum((aid.amount for aid in aids), ZERO) - declared
    limits = tuple(
        Limit(limit, counted, sum((aid.amount for aid in aids if aid.regulation in counted), ZERO))
        for limit, counted in _limits(regulation, ceiling)
    )
    return Position(granted_on, window_from, regulation, ceiling, declared, own, limits, tuple(aids))


def _figures(position: Position, grant: Decimal) -> list[str]:
    binding = min(position.limits, key=lambda limit: limit.left)
    return [
        _(
            "Der Zuschuss von %(grant)s überschreitet den De-minimis-Höchstbetrag von %(ceiling)s in drei Jahren "
            "(%(start)s bis %(end)s)."
        )
        % {
            "grant": format_euro(grant),
            "ceiling": format_euro(binding.ceiling),
            "start": f"{position.window_from:%d.%m.%Y}",
            "end": f"{position.granted_on:%d.%m.%Y}",
        },
        _(
            "Das Unternehmen hat in diesem Zeitraum bereits %(used)s erhalten (erklärt %(declared)s, von Förderdesk "
            "bewilligt %(own)s); es bleiben %(left)s."
        )
        % {
            "used": format_euro(binding.used),
            "declared": format_euro(position.declared),
            "own": format_euro(position.own),
            "left": format_euro(position.left),
        },
    ]


def ensure_within_ceiling(application: GrantApplication, *, grant: Decimal, granted_on: date) -> Position | None:
    """Refuse (409) a de-minimis grant the single undertaking's ceiling cannot take, with the figures.

    Art. 3(2) Reg. 2023/2831 (and the ceilings of the other regulations): the aid of the three years up to the
    day of granting, the new grant with it, stays within the ceiling. A reduction the caseworker recorded is the
    way out (``deminimis_reduce``); the grant given is already capped by it.
    """
    if not application.is_deminimis():
        return None
    result = position(application, granted_on=granted_on)
    if result.exceeded_by(grant):
        reasons = _figures(result, grant)
        if application.deminimis_reduced_to is None:
            reasons.append(_("Kürzen Sie den Zuschuss mit Begründung auf den verbleibenden Betrag oder lehnen Sie ab."))
        raise DomainError(reasons, code=Code.CONFLICT)
    return result


def lock_undertaking(applicant: Applicant) -> None:
    """The row that serialises approvals for one single undertaking (its group, else the applicant)."""
    if applicant.single_undertaking_id is not None:
        SingleUndertaking.objects.select_for_update().filter(pk=applicant.single_undertaking_id).first()
    else:
        Applicant.objects.select_for_update().filter(pk=applicant.pk).first()


# --- the caseworker's reduction -----------------------------------------------------------------------


@transaction.atomic
def deminimis_reduce(*, application_id: int, by: User, reason: str) -> GrantApplication:
    """Reduce a submitted case's grant to what the single undertaking's de-minimis ceiling leaves, with a reason.

    The reason goes into the approval notice; the check and the approval then give at most the reduced amount.
    """
    application = (
        GrantApplication.objects.select_for_update(of=("self",))
        .select_related("programme", "applicant")
        .filter(pk=application_id)
        .first()
    )
    if application is None or not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    decision = decide(by, "deminimis_reduce", application)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    if application.state != State.SUBMITTED:
        raise DomainError(_("Gekürzt wird vor der Prüfung, solange der Antrag eingereicht ist."))
    if not application.is_deminimis():
        raise DomainError(_("Die Zuschüsse dieses Programms sind keine De-minimis-Beihilfen."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Bitte begründen Sie die Kürzung."), code=Code.INVALID)
    grant = application.compute().grant
    result = position(application, granted_on=timezone.localdate())
    if not result.exceeded_by(grant):
        raise DomainError(
            _(
                "Der Zuschuss von %(grant)s hält den De-minimis-Höchstbetrag ein (es bleiben %(left)s); gekürzt "
                "wird nicht."
            )
            % {"grant": format_euro(grant), "left": format_euro(result.left)}
        )
    if result.left <= 0:
        raise DomainError(
            _("Der De-minimis-Höchstbetrag ist ausgeschöpft; es bleibt nichts zu bewilligen. Bitte lehnen Sie ab.")
        )
    application.deminimis_reduced_to = result.left
    application.deminimis_reduction_reason = reason
    application.deminimis_reduced_by = by
    application.deminimis_reduced_at = timezone.now()
    application.save()
    return application


# --- the owner's declaration ----------------------------------------------------------------------


@dataclass(frozen=True)
class AidInput:
    granted_on: date
    granting_body: str
    amount: Decimal
    regulation: str = Regulation.GENERAL


@transaction.atomic
def declaration_save(
    *, application_id: int, by: User, none_received: bool, aids: Iterable[AidInput]
) -> DeminimisDeclaration:
    """Write the owner's De-minimis-Erklärung on a draft: "none", or the aid of the last three years.

    A signed declaration is never changed: after a return to the owner, saving starts a new one (signed with the
    next submission).
    """
    application = GrantApplication.objects.select_for_update(of=("self",)).filter(pk=application_id).first()
    if application is None or not decide(by, "view", application):
        raise DomainError(_("Antrag nicht gefunden."), code=Code.NOT_FOUND)
    decision = decide(by, "edit", application)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    if not application.programme.is_deminimis and not application.is_deminimis():
        raise DomainError(_("Die Zuschüsse dieses Programms sind keine De-minimis-Beihilfen."))
    aids = list(aids)
    if none_received and aids:
        raise DomainError(
            _("Bitte wählen Sie: keine De-minimis-Beihilfen erhalten, oder die erhaltenen Beihilfen angeben."),
            code=Code.INVALID,
        )
    if not none_received and not aids:
        raise DomainError(
            _("Bitte geben Sie die erhaltenen De-minimis-Beihilfen an oder erklären Sie, keine erhalten zu haben."),
            code=Code.INVALID,
        )
    declaration = open_declaration(application) or DeminimisDeclaration(application=application)
    declaration.none_received = none_received
    declaration.save()
    declaration.aids.all().delete()
    DeclaredAid.objects.bulk_create(
        DeclaredAid(
            declaration=declaration,
            granted_on=aid.granted_on,
            granting_body=aid.granting_body,
            amount=aid.amount,
            regulation=aid.regulation,
        )
        for aid in aids
    )
    return declaration


def declaration_problem(application: GrantApplication) -> str:
    """The submission problem of a de-minimis case without a declaration, in the owner's words; "" if none."""
    if not application.is_deminimis():
        return ""
    if application.deminimis_declarations.exists():
        return ""
    return _(
        "Bitte geben Sie die De-minimis-Erklärung ab: die De-minimis-Beihilfen der letzten drei Jahre, oder dass "
        "Sie keine erhalten haben."
    )


def declaration_sign(application: GrantApplication, *, by: User) -> None:
    """Sign the declaration being written with the submission (grants.services.application_submit)."""
    DeminimisDeclaration.objects.filter(application=application, signed_at__isnull=True).update(
        signed_at=timezone.now(), signed_by=by
    )


def freeze_terms(application: GrantApplication) -> None:
    """At the first submission: the programme's regulation and ceiling become the case's."""
    if application.submitted_at is not None:
        return
    programme = application.programme
    application.deminimis_regulation = programme.deminimis_regulation
    application.deminimis_ceiling = programme.deminimis_ceiling_in_force


# --- the register (Zentralregister, Art. 6 Reg. 2023/2831) ------------------------------------------------

AID_INSTRUMENT = "Zuschuss"
# A decided revocation or withdrawal lowers the grant (approved_grant); the register entry is then corrected.
CORRECTING = (Revocation.Outcome.REVOKED, Revocation.Outcome.WITHDRAWN)


def may_read_register(user: User) -> Decision:
    """The municipality's staff read its register entries (every role, the auditor too); owners do not."""
    if user.is_authenticated and user.is_municipal_staff:
        return ALLOWED
    return Decision(False, _("Das De-minimis-Register sehen nur Mitarbeitende der Kommune."))


def register_entries(
    user: User, *, granted_from: date | None = None, granted_until: date | None = None, municipality_id=None
) -> QuerySet[GrantApplication]:
    """The de-minimis grants of the user's municipalities granted in the period, oldest first, in one query.

    Each with ``corrected_on``: the day the latest revocation lowering the grant was decided (None if none).
    """
    if not may_read_register(user):
        return GrantApplication.objects.none()
    municipalities = set(user.municipality_ids)
    if municipality_id is not None:
        municipalities &= {int(municipality_id)}
    correcting = Revocation.objects.filter(application=OuterRef("pk"), outcome__in=CORRECTING)
    entries = (
        GrantApplication.objects.filter(programme__municipality__in=municipalities, approved_at__isnull=False)
        .exclude(deminimis_regulation="")
        .select_related("applicant", "programme__municipality")
        .annotate(corrected_at=Subquery(correcting.order_by("-decided_at").values("decided_at")[:1]))
    )
    if granted_from is not None:
        entries = entries.filter(approved_at__date__gte=granted_from)
    if granted_until is not None:
        entries = entries.filter(approved_at__date__lte=granted_until)
    return entries.order_by("approved_at", "id")


def register_row(entry: GrantApplication) -> dict:
    """One entry with the fields the register takes (amount as gross grant equivalent, after a correction)."""
    applicant = entry.applicant
    municipality = entry.programme.municipality
    corrected_at = getattr(entry, "corrected_at", None)
    return {
        "file_number": entry.file_number,
        "recipient": applicant.organisation or applicant.name,
        "tax_number": applicant.tax_number,
        "register_number": " ".join(p for p in (applicant.register_number, applicant.register_court) if p),
        "amount": entry.approved_grant or ZERO,
        "granted_on": timezone.localdate(entry.approved_at),
        "granting_authority": municipality.official_name or municipality.name,
        "aid_instrument": AID_INSTRUMENT,
        "sector": applicant.nace_code,
        "regulation": entry.deminimis_regulation,
        "regulation_title": DEMINIMIS[entry.deminimis_regulation].title,
        "corrected_on": timezone.localdate(corrected_at) if corrected_at else None,
    }


CSV_COLUMNS = (
    ("file_number", "Aktenzeichen"),
    ("recipient", "Empfänger"),
    ("tax_number", "Steuernummer/USt-IdNr."),
    ("register_number", "Registernummer"),
    ("amount", "Betrag (Bruttosubventionsäquivalent) in EUR"),
    ("granted_on", "Tag der Gewährung"),
    ("granting_authority", "Beihilfegeber"),
    ("aid_instrument", "Beihilfeinstrument"),
    ("sector", "Wirtschaftszweig (NACE)"),
    ("regulation", "Verordnung"),
    ("corrected_on", "berichtigt am"),
)
REGULATION_NUMBERS = {
    Regulation.GENERAL: "(EU) 2023/2831",
    Regulation.AGRICULTURE: "(EU) Nr. 1408/2013",
    Regulation.FISHERIES: "(EU) Nr. 717/2014",
    Regulation.SGEI: "(EU) 2023/2832",
}


def _csv_value(key: str, value) -> str:
    if value is None:
        return ""
    if key == "amount":
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if key == "regulation":
        return REGULATION_NUMBERS[value]
    return str(value)


def register_csv(entries: Iterable[GrantApplication]) -> str:
    """The register as CSV for German spreadsheets: ``;`` between fields, decimal comma, dd.mm.yyyy."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([title for _key, title in CSV_COLUMNS])
    for entry in entries:
        row = register_row(entry)
        writer.writerow([_csv_value(key, row[key]) for key, _title in CSV_COLUMNS])
    return "\ufeff" + out.getvalue()  # the BOM tells Excel it is UTF-8


def register_xml(entries: Iterable[GrantApplication], *, granted_from=None, granted_until=None) -> bytes:
    """The register as XML: ISO dates, amounts with a decimal point, the regulation by code and number."""
    root = ET.Element("DeMinimisRegister")
    if granted_from:
        root.set("von", granted_from.isoformat())
    if granted_until:
        root.set("bis", granted_until.isoformat())
    for entry in entries:
        row = register_row(entry)
        aid = ET.SubElement(root, "Beihilfe", aktenzeichen=row["file_number"])
        if row["corrected_on"]:
            aid.set("berichtigtAm", row["corrected_on"].isoformat())
        fields = [
            ("Empfaenger", row["recipient"]),
            ("Steuernummer", row["tax_number"]),
            ("Registernummer", row["register_number"]),
            ("Betrag", f"{row['amount']:.2f}"),
            ("TagDerGewaehrung", row["granted_on"].isoformat()),
            ("Beihilfegeber", row["granting_authority"]),
            ("Beihilfeinstrument", row["aid_instrument"]),
            ("Wirtschaftszweig", row["sector"]),
        ]
        for tag, value in fields:
            ET.SubElement(aid, tag).text = value
        ET.SubElement(aid, "Verordnung", code=row["regulation"]).text = REGULATION_NUMBERS[row["regulation"]]
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
