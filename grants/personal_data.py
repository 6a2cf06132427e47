"""Auskunft nach Art. 15 DSGVO: everything Förderdesk holds about one person, as a ZIP.

``data.json`` holds the account, the applicant profiles, properties, consultations and the
cases with measures, costs, documents, letters, transitions, ledger entries and change
history; the uploaded documents and the stored letters lie beside it. Staff get only what
belongs to their municipalities' cases; internal notes (interne Vermerke) are left out, they
are the administration's working notes.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from applicants.models import Applicant, Consultation, Property, User
from budgets.models import LedgerEntry

from .models import GrantApplication

APPLICANT_FIELDS = ("kind", "standing", "name", "organisation", "street", "house_number", "postcode", "city",
                    "email", "phone", "iban", "may_deduct_input_vat", "anonymised_at")  # fmt: skip
PROPERTY_FIELDS = ("street", "house_number", "postcode", "city", "cadastral_district", "cadastral_sheet", "parcel",
                   "building")  # fmt: skip
APPLICATION_FIELDS = ("file_number", "state", "description", "works_started_on", "early_start_permitted",
                      "created_at", "submitted_at", "total_costs", "eligible_costs", "computed_grant", "checked_at",
                      "approved_at", "approved_grant", "budget_year", "completion_deadline", "invoice_deadline",
                      "invoices_certified_at", "payable_amount", "paid_at", "paid_amount", "anonymised_at")  # fmt: skip
USER_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "date_joined", "last_login")
HISTORY_USER_FIELDS = ("username", "first_name", "last_name", "email", "is_active")


def _plain(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _pick(obj, names) -> dict:
    return {name: _plain(getattr(obj, name)) for name in names}


def _person_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.username


def export_subject(
    *, user: User | None = None, applicant: Applicant | None = None, municipality_ids=None
) -> tuple[User | None, list[Applicant], QuerySet[GrantApplication]]:
    """Whose data: an owner's account with all its applicant profiles, or one applicant (staff).

    ``municipality_ids`` limits the cases (and what hangs on them) to those municipalities.
    """
    if user is not None:
        applicants = list(Applicant.objects.filter(user=user).order_by("pk"))
    else:
        applicants = [applicant]
        user = applicant.user
    applications = GrantApplication.objects.filter(applicant__in=applicants)
    if municipality_ids is not None:
        applications = applications.filter(programme__municipality__in=municipality_ids)
    return user, applicants, applications


def personal_data(*, user: User | None = None, applicant: Applicant | None = None, municipality_ids=None) -> dict:
    """The Art. 15 data as a plain dict (JSON-ready); files are listed with their place in the ZIP."""
    user, applicants, applications = export_subject(user=user, applicant=applicant, municipality_ids=municipality_ids)
    applications = list(
        applications.select_related("programme__municipality", "property", "applicant")
        .prefetch_related("components__cost_items", "documents", "letters")
        .order_by("pk")
    )
    scoped = municipality_ids is not None
    consultations = Consultation.objects.filter(applicant__in=applicants).select_related("municipality", "property")
    if scoped:
        consultations = consultations.filter(municipality__in=municipality_ids)
    property_condition = Q(applications__in=applications) | Q(consultations__in=consultations)
    if not scoped:
        property_condition |= Q(registered_by__in=applicants)
    properties = Property.objects.filter(property_condition).distinct().order_by("pk")

    data = {
        "erstellt_am": _plain(timezone.now()),
        "hinweis": "Auskunft nach Art. 15 DSGVO: alle zu Ihrer Person gespeicherten Daten.",
        "benutzerkonto": _account(user, with_history=not scoped or bool(applications)) if user else None,
        "antragstellende": [{"id": a.pk, **_pick(a, APPLICANT_FIELDS)} for a in applicants],
        "grundstuecke": [{"id": p.pk, **_pick(p, PROPERTY_FIELDS)} for p in properties],
        "erstberatungen": [
            {
                "kommune": c.municipality.name,
                "grundstueck_id": c.property_id,
                "datum": _plain(c.held_on),
                "beratung_durch": c.adviser,
                "themen": c.topics,
                "ergebnis": c.outcome,
            }
            for c in consultations
        ],
        "antraege": [_application(a) for a in applications],
    }
    return data


def _account(user: User, *, with_history: bool) -> dict:
    from allauth.account.models import EmailAddress

    account = _pick(user, USER_FIELDS)
    account["rollen"] = sorted(user.groups.values_list("name", flat=True))
    account["e_mail_adressen"] = [
        {"email": e.email, "bestaetigt": e.verified, "primaer": e.primary}
        for e in EmailAddress.objects.filter(user=user)
    ]
    if with_history:
        account["aenderungsprotokoll"] = [
            {
                "zeitpunkt": _plain(h.history_date),
                "art": h.get_history_type_display(),
                "durch": _person_name(h.history_user),
                **_pick(h, HISTORY_USER_FIELDS),
            }
            for h in User.history.filter(id=user.pk).select_related("history_user").order_by("history_date")
        ]
    return account


def _application(application: GrantApplication) -> dict:
    from django_fsm_log.models import StateLog

    return {
        "id": application.pk,
        "programm": application.programme.name,
        "kommune": application.programme.municipality.name,
        "antragsteller_id": application.applicant_id,
        "grundstueck_id": application.property_id,
        **_pick(application, APPLICATION_FIELDS),
        "massnahmen": [
            {
                "art": component.get_kind_display(),
                "flaeche_m2": _plain(component.area_m2),
                "beschreibung": component.description,
                "kosten": [
                    {
                        "art": item.get_stage_display(),
                        "leistung": item.description,
                        "netto": _plain(item.net_amount),
                        "umsatzsteuer": _plain(item.vat_amount),
                        "baunebenkosten": item.ancillary,
                    }
                    for item in component.cost_items.all()
                ],
            }
            for component in application.components.all()
        ],
        "dokumente": [
            {
                "art": d.get_kind_display(),
                "dateiname": d.original_name,
                "hochgeladen_am": _plain(d.uploaded_at),
                "geloescht_am": _plain(d.removed_at),
                "e_rechnung": d.einvoice or None,
                "datei_im_zip": _document_path(d) if d.file else None,
            }
            for d in application.documents.all()
        ],
        "schreiben": [
            {
                "art": letter.get_kind_display(),
                "betreff": letter.subject,
                "erzeugt_am": _plain(letter.created_at),
                "sha256": letter.sha256,
                "pdf_geloescht_am": _plain(letter.file_removed_at),
                "vermerk": letter.file_removed_note,
                "datei_im_zip": _letter_path(letter) if letter.file else None,
            }
            for letter in application.letters.all()
        ],
        "statusverlauf": [
            {
                "zeitpunkt": _plain(log.timestamp),
                "schritt": log.transition,
                "von": log.source_state,
                "nach": log.state,
                "durch": _person_name(log.by),
                "kommentar": log.description or "",
            }
            for log in StateLog.objects.for_(application).select_related("by").order_by("timestamp", "pk")
        ],
        "buchungen": [
            {
                "gebucht_am": _plain(entry.booked_at),
                "art": entry.get_kind_display(),
                "betrag": _plain(entry.amount),
                "programmjahr": entry.allocation.year,
                "buchungstext": entry.comment,
            }
            for entry in LedgerEntry.objects.filter(application=application).select_related("allocation")
        ],
        "fristverlaengerungen": [
            {
                "beantragt_am": _plain(e.requested_at),
                "begruendung": e.reason,
                "fristen_vorher": [_plain(e.completion_deadline_before), _plain(e.invoice_deadline_before)],
                "fristen_beantragt": [_plain(e.completion_deadline), _plain(e.invoice_deadline)],
                "entscheidung": e.get_outcome_display(),
                "entschieden_am": _plain(e.decided_at),
                "begruendung_der_entscheidung": e.decision_comment,
            }
            for e in application.extensions.all()
        ],
        "aenderungsantraege": [
            {
                "beantragt_am": _plain(c.requested_at),
                "begruendung": c.reason,
                "massnahmen_vorher": c.measures_before,
                "massnahmen_beantragt": c.measures,
                "zuschuss_vorher": _plain(c.grant_before),
                "zuschuss_beantragt": _plain(c.grant),
                "entscheidung": c.get_outcome_display(),
                "entschieden_am": _plain(c.decided_at),
                "begruendung_der_entscheidung": c.decision_comment,
            }
            for c in application.changes.all()
        ],
        "rechnungen": [
            {
                "nummer": i.number,
                "datum": _plain(i.issued_on),
                "rechnungssteller": i.supplier,
                "massnahme": i.get_measure_display(),
                "leistung": i.description,
                "netto": _plain(i.net_amount),
                "umsatzsteuer": _plain(i.vat_amount),
                "brutto": _plain(i.gross_amount),
                "bezahlt_am": _plain(i.paid_on),
                "foerderfaehig_netto": _plain(i.eligible_amount),
                "grund_der_kuerzung": i.cut_reason,
                "geprueft_am": _plain(i.certified_at),
            }
            for i in application.invoices.all()
        ],
        "abschlagszahlungen": [
            {"nummer": p.number, "betrag": _plain(p.amount), "freigegeben_am": _plain(p.paid_at)}
            for p in application.partial_payments.all()
        ],
        "verwendungsnachweise": [
            {
                "eingereicht_am": _plain(p.submitted_at),
                "abschluss_der_arbeiten": _plain(p.completed_on),
                "sachbericht": p.report,
                "ergebnis": p.get_outcome_display(),
                "geprueft_am": _plain(p.decided_at),
                "hinweis": p.decision_comment,
            }
            for p in application.proofs.all()
        ],
        "widerrufsverfahren": [
            {
                "eroeffnet_am": _plain(r.opened_at),
                "grund": r.get_reason_display(),
                "sachverhalt": r.facts,
                "frist_zur_aeusserung": _plain(r.hearing_deadline),
                "aeusserung": r.answer,
                "geaeussert_am": _plain(r.answered_at),
                "entscheidung": r.get_outcome_display(),
                "entschieden_am": _plain(r.decided_at),
                "begruendung": r.decision_comment,
                "aufgehoben": _plain(r.revoked_amount),
                "unwirksam_ab": _plain(r.effective_from),
                "zu_erstatten": _plain(r.principal),
                "faellig_am": _plain(r.due_on),
                "zinsen_verspaetete_verwendung": _plain(r.late_use_interest),
                "rueckzahlungen": [
                    {
                        "eingegangen_am": _plain(p.received_on),
                        "betrag": _plain(p.amount),
                        "auf_zinsen": _plain(p.interest_part),
                        "auf_hauptforderung": _plain(p.principal_part),
                    }
                    for p in r.repayments.all()
                ],
            }
            for r in application.revocations.all()
        ],
        "zweckbindung": {"von": _plain(application.commitment_from), "bis": _plain(application.commitment_until)},
        "vor_ort_kontrollen": [
            {
                "kontrolliert_am": _plain(i.inspected_on),
                "befund": i.get_finding_display(),
                "feststellungen": i.notes,
                "fotos": [d.original_name for d in i.photos.all()],
            }
            for i in application.inspections.all()
        ],
        "veraeusserungsmeldungen": [
            {
                "gemeldet_am": _plain(m.reported_at),
                "veraeussert_am": _plain(m.sold_on),
                "erwerber_oder_nutzung": m.buyer,
                "uebernimmt_zweckbindung": m.buyer_continues,
                "erlaeuterung": m.notes,
            }
            for m in application.sale_reports.all()
        ],
        "aenderungsprotokoll": [
            {
                "zeitpunkt": _plain(h.history_date),
                "art": h.get_history_type_display(),
                "durch": _person_name(h.history_user),
                "status": h.state,
                "beschreibung": h.description,
                "bewilligter_zuschuss": _plain(h.approved_grant),
                "ausgezahlter_betrag": _plain(h.paid_amount),
            }
            for h in application.history.select_related("history_user").order_by("history_date", "history_id")
        ],
    }


def _document_path(document) -> str:
    return f"dokumente/{document.application_id}/{document.pk}-{document.original_name}"


def _letter_path(letter) -> str:
    return f"schreiben/{letter.application_id}/{letter.file.name.rsplit('/', 1)[-1]}"


def personal_data_zip(*, user: User | None = None, applicant: Applicant | None = None, municipality_ids=None) -> bytes:
    """``data.json`` and the person's documents and letters in one ZIP; a missing file is noted, not fatal."""
    data = personal_data(user=user, applicant=applicant, municipality_ids=municipality_ids)
    _user, _applicants, applications = export_subject(user=user, applicant=applicant, municipality_ids=municipality_ids)
    buffer = io.BytesIO()
    missing = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for application in applications.prefetch_related("documents", "letters"):
            files = [(d.file, _document_path(d)) for d in application.documents.all() if d.file]
            files += [(letter.file, _letter_path(letter)) for letter in application.letters.all() if letter.file]
            for stored, path in files:
                try:
                    with stored.open("rb") as handle:
                        archive.writestr(path, handle.read())
                except (FileNotFoundError, OSError):
                    missing.append(path)
        data["fehlende_dateien"] = missing
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=_plain))
    return buffer.getvalue()


def export_filename(subject: str) -> str:
    return f"auskunft-{subject}-{timezone.localdate():%Y-%m-%d}.zip"
