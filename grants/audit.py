"""Änderungsprotokoll: who changed what and when, from django-simple-history's tables.

Applications, programmes with their guideline versions, component rules and funding-area streets,
allocations, user roles (groups) and the staff of municipalities keep a history row per change
(who from the request, when). Staff, auditors above all, read them scoped to their municipalities,
a page at a time, each row with the fields it changed against the row before it. The queries per page
do not depend on the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applicants.models import Role, User
from budgets.models import Allocation
from core.models import Municipality
from core.money import format_amount

from .models import FundingAreaStreet, GrantApplication, GuidelineVersion, Programme, ProgrammeComponentRule


@dataclass(frozen=True)
class AuditKind:
    key: str
    label: str
    model: type[models.Model]
    m2m: str = ""  # the tracked many-to-many field, if any


KINDS = {
    kind.key: kind
    for kind in (
        AuditKind("antraege", gettext_lazy("Anträge"), GrantApplication),
        AuditKind("programme", gettext_lazy("Förderprogramme"), Programme),
        AuditKind("richtlinien", gettext_lazy("Fassungen der Förderrichtlinien"), GuidelineVersion),
        AuditKind("regeln", gettext_lazy("Regeln je Maßnahme"), ProgrammeComponentRule),
        AuditKind("foerdergebiete", gettext_lazy("Fördergebiete"), FundingAreaStreet),
        AuditKind("mittel", gettext_lazy("Mittelausstattungen"), Allocation),
        AuditKind("rollen", gettext_lazy("Benutzerkonten und Rollen"), User, m2m="groups"),
        AuditKind("kommunen", gettext_lazy("Mitarbeitende der Kommunen"), Municipality, m2m="staff"),
    )
}
HISTORY_TYPES = {"+": gettext_lazy("angelegt"), "~": gettext_lazy("geändert"), "-": gettext_lazy("gelöscht")}
# Derived or bulky values: the change is shown, not the value.
SUMMARISED_FIELDS = {"computation"}
# Fields whose model gives no German name.
FIELD_LABELS = {
    "checked_by": gettext_lazy("geprüft von"),
    "approved_by": gettext_lazy("bewilligt von"),
    "invoices_certified_by": gettext_lazy("sachlich richtig bestätigt von"),
    "paid_by": gettext_lazy("Auszahlung freigegeben von"),
}


def audit_history(user, kind: AuditKind, *, application_id: int | None = None) -> QuerySet:
    """The history rows of ``kind`` the user may read, newest first, each with the id of the row before it.

    Staff read what belongs to their municipalities; a staff member's own application is not theirs to audit.
    """
    history = kind.model.history.model
    ids = user.municipality_ids if (user.is_authenticated and user.is_municipal_staff) else frozenset()
    rows = history.objects.all()
    if kind.model is GrantApplication:
        rows = rows.filter(programme__municipality__in=ids).exclude(applicant__user=user)
        if application_id is not None:
            rows = rows.filter(id=application_id)
    elif kind.model is Programme:
        rows = rows.filter(municipality__in=ids)
    elif kind.model is GuidelineVersion:
        rows = rows.filter(programme__municipality__in=ids).select_related("programme")
    elif kind.model in (ProgrammeComponentRule, FundingAreaStreet):
        rows = rows.filter(version__programme__municipality__in=ids).select_related("version__programme")
    elif kind.model is Allocation:
        rows = rows.filter(programme__municipality__in=ids).select_related("programme")
    elif kind.model is User:
        rows = rows.filter(id__in=User.objects.filter(municipalities__in=ids).values("id"))
    elif kind.model is Municipality:
        rows = rows.filter(id__in=ids)
    previous = history.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id")).order_by("-history_id")
    return (
        rows.select_related("history_user")
        .annotate(previous_history_id=Subquery(previous.values("history_id")[:1]))
        .order_by("-history_date", "-history_id")
    )


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class AuditRow:
    record: models.Model
    when: object
    who: str
    what: str
    action: str
    changes: list[Change] = field(default_factory=list)


def audit_rows(kind: AuditKind, records: list) -> list[AuditRow]:
    """The page's history rows with their field changes: one query for the rows before them, two for m2m."""
    history = kind.model.history.model
    previous_ids = [r.previous_history_id for r in records if r.previous_history_id]
    previous = history.objects.in_bulk(previous_ids) if previous_ids else {}
    m2m_values = _m2m_values(kind, [r.history_id for r in records] + previous_ids) if kind.m2m else {}
    fields = [f for f in kind.model.history.model.tracked_fields if f.name != "id"]
    people = _people(fields, records + list(previous.values()))
    rows = []
    for record in records:
        before = previous.get(record.previous_history_id)
        changes = []
        if record.history_type != "-":
            for model_field in fields:
                new = getattr(record, model_field.attname)
                old = getattr(before, model_field.attname) if before is not None else None
                if before is None and new in (None, "", {}, []):
                    continue
                if before is not None and old == new:
                    continue
                label = str(FIELD_LABELS.get(model_field.name, model_field.verbose_name))
                if model_field.name in SUMMARISED_FIELDS:
                    changes.append(Change(label, "", _("neu berechnet")))
                    continue
                changes.append(Change(label, _value(model_field, old, people), _value(model_field, new, people)))
            if kind.m2m:
                new_set = m2m_values.get(record.history_id, [])
                old_set = m2m_values.get(before.history_id, []) if before is not None else []
                if new_set != old_set:
                    label = kind.model._meta.get_field(kind.m2m).verbose_name
                    changes.append(Change(str(label), ", ".join(old_set) or "–", ", ".join(new_set) or "–"))
        rows.append(
            AuditRow(
                record=record,
                when=record.history_date,
                who=_person(record.history_user),
                what=_object_label(kind, record),
                action=str(HISTORY_TYPES.get(record.history_type, record.history_type)),
                changes=changes,
            )
        )
    return rows


def _m2m_values(kind: AuditKind, history_ids: list[int]) -> dict[int, list[str]]:
    """For each history row, the names in its copy of the many-to-many field (roles, or staff)."""
    history = kind.model.history.model
    through = next(f.related_model for f in history._meta.get_fields() if f.one_to_many)
    if kind.m2m == "groups":
        labels = dict(Role.choices)
        names = {g.pk: str(labels.get(g.name, g.name)) for g in Group.objects.all()}
        pairs = through.objects.filter(history_id__in=history_ids).values_list("history_id", "group_id")
    else:
        pairs = list(through.objects.filter(history_id__in=history_ids).values_list("history_id", "user_id"))
        users = User.objects.filter(pk__in={u for _h, u in pairs})
        names = {u.pk: u.get_full_name() or u.username for u in users}
    values: dict[int, list[str]] = {}
    for history_id, other_id in pairs:
        values.setdefault(history_id, []).append(names.get(other_id, str(other_id)))
    return {key: sorted(value) for key, value in values.items()}


def _person(user) -> str:
    if user is None:
        return _("System")
    return user.get_full_name() or user.username


def _object_label(kind: AuditKind, record) -> str:
    if kind.model is GrantApplication:
        return record.file_number or _("Entwurf Nr. %(id)s") % {"id": record.id}
    if kind.model is Allocation:
        return f"{record.programme.name} {record.year}" if record.programme_id else str(record.year)
    if kind.model is User:
        return f"{record.first_name} {record.last_name}".strip() or record.username
    if kind.model is GuidelineVersion:
        return _("%(programme)s, Fassung %(number)s") % {"programme": record.programme.name, "number": record.number}
    if kind.model in (ProgrammeComponentRule, FundingAreaStreet):
        part = record.get_component_display() if kind.model is ProgrammeComponentRule else record.street
        return _("%(programme)s, Fassung %(number)s: %(part)s") % {
            "programme": record.version.programme.name,
            "number": record.version.number,
            "part": part,
        }
    return record.name


def _people(fields, records) -> dict[int, str]:
    """Names of the people the rows refer to (checked by, approved by, …), in one query."""
    user_fields = [f.attname for f in fields if f.is_relation and f.related_model is User]
    ids = {getattr(r, name) for r in records for name in user_fields} - {None}
    return {u.pk: u.get_full_name() or u.username for u in User.objects.filter(pk__in=ids)} if ids else {}


def _value(model_field, value, people: dict[int, str]) -> str:
    if value is None or value == "":
        return "–"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("ja") if value else _("nein")
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if model_field.is_relation:
        return people.get(value, f"#{value}") if model_field.related_model is User else f"#{value}"
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"
