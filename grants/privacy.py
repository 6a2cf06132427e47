"""Data protection (Datenschutz, DSGVO): retention periods, anonymisation, stale drafts.

The services of Art. 5(1)(e) and Art. 17: a closed case keeps its personal data for the
programme's retention period, counted from the end of the commitment period (funded cases,
Zweckbindungsfrist) or from the decision (rejected and withdrawn cases); after that the
personal content is replaced, while file numbers, dates, states, amounts and the ledger stay
as they are, so every proof-of-use statement keeps its figures to the cent. The export of
Art. 15 lives in grants.personal_data.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm_log.models import StateLog

from applicants.models import Applicant, Consultation, Property, User

from .models import (
    ChangeRequest,
    CostItem,
    DeadlineExtension,
    Document,
    GrantApplication,
    Inspection,
    InternalNote,
    Letter,
    MeasureComponent,
    OutboundEmail,
    ProofOfUse,
    Revocation,
    SaleReport,
)

logger = logging.getLogger(__name__)
State = GrantApplication.State

# A revoked case is closed once what it reclaims is repaid (no revocation case open): then as a rejected one.
CLOSED_STATES = (State.DOCUMENTED, State.REJECTED, State.WITHDRAWN, State.REVOKED)
ANONYMISED = "anonymisiert"
REDACTED = "[anonymisiert]"
REMOVED_DOCUMENT_NAME = "gelöscht"
LETTER_REMOVED_NOTE = (
    "PDF nach Ablauf der Aufbewahrungsfrist gelöscht; Betreff, Datum und SHA-256 bleiben als Nachweis."
)
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
IBAN_PATTERN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,4})?\b")


# --- when does a case's retention end? -----------------------------------------------------


def _closed_at() -> Subquery:
    """The time of the case's last transition: closed states are final, so that is when it closed."""
    content_type = ContentType.objects.get_for_model(GrantApplication)
    return Subquery(
        StateLog.objects.filter(content_type=content_type, object_id=OuterRef("pk"))
        .values("object_id")
        .annotate(last=Max("timestamp"))
        .values("last")[:1]
    )


def closed_applications() -> QuerySet[GrantApplication]:
    """Documented, rejected and withdrawn cases not yet anonymised, with ``closed_at``."""
    return (
        GrantApplication.objects.filter(
            state__in=CLOSED_STATES, anonymised_at__isnull=True, open_revocation__isnull=True
        )
        .annotate(closed_at=Coalesce(_closed_at(), "paid_at", "submitted_at", "created_at"))
        .select_related("programme", "guideline_version")
    )


def retention_ends_on(application: GrantApplication, closed_at: datetime) -> date:
    """The first day the case's personal data may no longer be kept.

    Funded cases (documented): closing day + commitment period + retention period.
    Rejected and withdrawn cases: day of the decision + retention period.
    """
    programme = application.programme
    years = programme.retention_years
    if application.state == State.DOCUMENTED:
        years += application.terms().commitment_years  # the commitment period of the notice's guideline
    return timezone.localdate(closed_at) + relativedelta(years=years)


def expired_applications(*, today: date | None = None) -> list[GrantApplication]:
    """Closed cases whose retention period has run out and that still hold personal data."""
    today = today or timezone.localdate()
    return [
        application
        for application in closed_applications().iterator(chunk_size=2000)
        if retention_ends_on(application, application.closed_at) <= today
    ]


def draft_kept_until(application: GrantApplication) -> date:
    """The day a never-submitted draft is deleted unless it is changed or submitted before."""
    return timezone.localdate(application.updated_at) + timedelta(days=settings.DRAFT_RETENTION_DAYS)


def stale_drafts(*, now: datetime | None = None) -> QuerySet[GrantApplication]:
    """Drafts never submitted (no file number, no transition) untouched for DRAFT_RETENTION_DAYS."""
    now = now or timezone.now()
    content_type = ContentType.objects.get_for_model(GrantApplication)
    return GrantApplication.objects.filter(
        state=State.DRAFT,
        file_number="",
        submitted_at__isnull=True,
        updated_at__lt=now - timedelta(days=settings.DRAFT_RETENTION_DAYS),
    ).exclude(Exists(StateLog.objects.filter(content_type=content_type, object_id=OuterRef("pk"))))


# --- what a run did ------------------------------------------------------------------------


@dataclass
class RetentionReport:
    applications: list[str] = field(default_factory=list)
    applicants: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    drafts: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.applications)} Fälle anonymisiert, {len(self.applicants)} Antragstellende anonymisiert, "
            f"{len(self.users)} Benutzerkonten anonymisiert, {len(self.drafts)} Entwürfe gelöscht"
        )


# --- the services --------------------------------------------------------------------------


def apply_data_retention(*, today: date | None = None, dry_run: bool = False) -> RetentionReport:
    """The daily run: delete stale drafts, anonymise expired cases, then the people with nothing live left."""
    now = timezone.now() if today is None else timezone.make_aware(datetime.combine(today, datetime.min.time()))
    report = RetentionReport()
    for draft in stale_drafts(now=now).select_related("applicant"):
        report.drafts.append(draft.pk)
        if not dry_run:
            draft_delete(application_id=draft.pk)
    expired = expired_applications(today=timezone.localdate(now))
    for application in expired:
        report.applications.append(application.file_number or str(application.pk))
        if not dry_run:
            application_anonymise(application_id=application.pk)
    # A dry run changed nothing: count the cases it would anonymise and the drafts it would delete as gone.
    expired_ids = {a.pk for a in expired} | set(report.drafts)
    for applicant in _applicants_with_nothing_live(
        also_expired=expired_ids if dry_run else set(), today=timezone.localdate(now)
    ):
        report.applicants.append(applicant.pk)
        if applicant.user_id and _user_may_be_anonymised(applicant.user_id, also_expired=expired_ids, dry_run=dry_run):
            report.users.append(applicant.user_id)
        if not dry_run:
            applicant_anonymise(applicant_id=applicant.pk)
    report.users = sorted(set(report.users))
    if not dry_run:
        logger.info("Data retention: %s", report)
    return report


def _applicants_with_nothing_live(*, also_expired: set[int], today: date) -> list[Applicant]:
    """Applicants not yet anonymised who have cases and all of them anonymised (or about to be).

    A recent initial consultation counts as live too: the person was advised for a new application, which
    may follow within the time a draft is kept.
    """
    live = GrantApplication.objects.filter(applicant=OuterRef("pk"), anonymised_at__isnull=True).exclude(
        pk__in=also_expired
    )
    recently_advised = Consultation.objects.filter(
        applicant=OuterRef("pk"), held_on__gte=today - timedelta(days=settings.DRAFT_RETENTION_DAYS)
    )
    return list(
        Applicant.objects.filter(anonymised_at__isnull=True, applications__isnull=False)
        .exclude(Exists(live))
        .exclude(Exists(recently_advised))
        .distinct()
    )


def _user_may_be_anonymised(user_id: int, *, also_expired: set[int], dry_run: bool) -> bool:
    user = User.objects.get(pk=user_id)
    if user.is_staff or user.is_superuser or user.is_municipal_staff or user.username.startswith("geloescht-"):
        return False
    live = GrantApplication.objects.filter(applicant__user_id=user_id, anonymised_at__isnull=True)
    if dry_run:
        live = live.exclude(pk__in=also_expired)
    return not live.exists()


def scrub(text: str | None, *, names: tuple[str, ...] = ()) -> str | None:
    """A comment without e-mail addresses, IBANs and the given names."""
    if not text:
        return text
    text = EMAIL_PATTERN.sub("[E-Mail entfernt]", text)
    text = IBAN_PATTERN.sub("[IBAN entfernt]", text)
    for name in names:
        if name and len(name) > 2:
            text = re.sub(re.escape(name), "[Name entfernt]", text, flags=re.IGNORECASE)
    return text


def _figures_only(measures: list[dict]) -> list[dict]:
    """A change request's measures without what the owner typed about them."""
    return [
        {
            **measure,
            "description": "",
            "costs": [{**cost, "description": REDACTED} for cost in measure["costs"]],
        }
        for measure in measures
    ]


@transaction.atomic
def application_anonymise(*, application_id: int) -> GrantApplication:
    """Remove the personal content of one closed case; figures, dates, states and file number stay."""
    application = GrantApplication.objects.select_for_update().select_related("applicant").get(pk=application_id)
    if application.anonymised_at is not None:
        return application
    now = timezone.now()
    for document in Document.objects.filter(application=application, removed_at__isnull=True):
        if document.file:
            document.file.delete(save=False)
        # An e-invoice's data name the supplier and the owner: they go with the file.
        Document.objects.filter(pk=document.pk).update(
            file="", original_name=REMOVED_DOCUMENT_NAME, removed_at=now, einvoice={}
        )
    for letter in Letter.objects.filter(application=application, file_removed_at__isnull=True):
        letter.remove_file(note=LETTER_REMOVED_NOTE)
    InternalNote.objects.filter(application=application).update(text=REDACTED)
    # What the owner typed about the works may name people or give a phone number: the texts go, the figures stay.
    MeasureComponent.objects.filter(application=application).update(description="")
    CostItem.objects.filter(component__application=application).update(description=REDACTED)
    OutboundEmail.objects.filter(application=application).update(to="", body=REDACTED)
    # The owner's requests after approval: their reasons and texts go; the dates, areas and amounts stay.
    DeadlineExtension.objects.filter(application=application).update(reason=REDACTED, decision_comment="")
    for change in ChangeRequest.objects.filter(application=application):
        change.reason, change.decision_comment = REDACTED, ""
        change.measures_before, change.measures = _figures_only(change.measures_before), _figures_only(change.measures)
        change.save(update_fields=["reason", "decision_comment", "measures_before", "measures"])
    # The owner's proofs of use: the factual report and the check's remarks go; the dates and the invoice list stay.
    ProofOfUse.objects.filter(application=application).update(report=REDACTED, decision_comment="")
    # Revocation cases: the facts, the owner's answer and the reasons go; reason, dates and amounts stay.
    Revocation.objects.filter(application=application).update(facts=REDACTED, answer="", decision_comment="")
    # The commitment period: what inspections found and the owner's reports of a sale (buyers are people too) go;
    # the days and findings stay.
    Inspection.objects.filter(application=application).exclude(notes="").update(notes=REDACTED)
    SaleReport.objects.filter(application=application).update(buyer=REDACTED, notes="")
    applicant = application.applicant
    names = tuple(n for n in (applicant.name, applicant.organisation) if n)
    for log in StateLog.objects.for_(application).exclude(description__isnull=True).exclude(description=""):
        cleaned = scrub(log.description, names=names)
        if cleaned != log.description:
            StateLog.objects.filter(pk=log.pk).update(description=cleaned)
    application.anonymised_at = now
    application.description = REDACTED if application.description else ""
    application.save(update_fields=["anonymised_at", "description"])
    # The change history keeps copies of the description, the last one written by the save above.
    application.history.exclude(description="").exclude(description=REDACTED).update(description=REDACTED)
    return application


@transaction.atomic
def applicant_anonymise(*, applicant_id: int) -> Applicant:
    """Replace a person's name, address, contact and IBAN, their properties' owner data and consultations.

    Only once none of their cases is live; the user account goes too when it has no live case left.
    """
    applicant = Applicant.objects.select_for_update().get(pk=applicant_id)
    if applicant.anonymised_at is not None:
        return applicant
    if GrantApplication.objects.filter(applicant=applicant, anonymised_at__isnull=True).exists():
        raise ValueError(f"Applicant {applicant_id} still has a live case.")
    applicant.name = ANONYMISED
    applicant.organisation = ANONYMISED if applicant.kind == Applicant.Kind.ORGANISATION else ""
    applicant.street = ANONYMISED
    applicant.house_number = ""
    applicant.postcode = ""
    applicant.city = ""
    applicant.email = ""
    applicant.phone = ""
    applicant.iban = ""
    applicant.anonymised_at = timezone.now()
    applicant.save()
    Consultation.objects.filter(applicant=applicant).exclude(topics="").update(topics=REDACTED)
    Consultation.objects.filter(applicant=applicant).exclude(outcome="").update(outcome=REDACTED)
    properties = Property.objects.filter(Q(registered_by=applicant) | Q(applications__applicant=applicant))
    for property in properties.distinct():
        _property_anonymise(property, applicant)
    if applicant.user_id and _user_may_be_anonymised(applicant.user_id, also_expired=set(), dry_run=False):
        user_anonymise(user_id=applicant.user_id)
    return applicant


def _property_anonymise(property: Property, applicant: Applicant) -> None:
    """The parcel and house number lead to the owner in the land register; the street stays for the statement."""
    others_live = GrantApplication.objects.filter(property=property, anonymised_at__isnull=True).exclude(
        applicant=applicant
    )
    if others_live.exists():
        if property.registered_by_id == applicant.pk:
            Property.objects.filter(pk=property.pk).update(registered_by=None)
        return
    Property.objects.filter(pk=property.pk).update(
        house_number="", cadastral_district="", cadastral_sheet="", parcel="", building="", registered_by=None
    )


@transaction.atomic
def user_anonymise(*, user_id: int) -> None:
    """An owner's account with no live case: no name, no address, no login; its history rows likewise."""
    from allauth.account.models import EmailAddress
    from rest_framework.authtoken.models import Token

    user = User.objects.select_for_update().get(pk=user_id)
    username = f"geloescht-{user.pk}"
    EmailAddress.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    user.username = username
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    # The history keeps copies of the account's personal fields: they go as well.
    User.history.filter(id=user.pk).update(username=username, first_name="", last_name="", email="")


@transaction.atomic
def draft_delete(*, application_id: int) -> None:
    """A draft never submitted, with its documents (files too); a profile left with nothing goes too."""
    application = GrantApplication.objects.select_for_update().get(pk=application_id)
    if application.state != State.DRAFT or application.file_number or application.submitted_at:
        raise ValueError(f"Application {application_id} is not a draft that was never submitted.")
    applicant = application.applicant
    for document in Document.objects.filter(application=application):
        if document.file:
            document.file.delete(save=False)
    Document.objects.filter(application=application).delete()
    OutboundEmail.objects.filter(application=application).delete()
    StateLog.objects.for_(application).delete()
    pk = application.pk
    application.delete()
    # A draft nobody submitted leaves no trace: its history rows (with the deletion's own) go as well.
    GrantApplication.history.filter(id=pk).delete()
    _applicant_remove_if_unused(applicant)


def _applicant_remove_if_unused(applicant: Applicant) -> None:
    """An applicant profile made for the deleted draft alone goes with it; one still referred to is kept."""
    if applicant.applications.exists() or applicant.consultations.exists():
        return
    for property in applicant.properties.all():
        if not property.applications.exists() and not property.consultations.exists():
            property.delete()
    if not applicant.properties.exists():
        applicant.delete()
