"""Writes about people and properties: profiles, properties, initial consultations. Each validated, one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from .models import Applicant, Consultation, Property
from .rules import may_record_consultation


@dataclass(frozen=True)
class PersonInput:
    name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class AddressInput:
    street: str
    house_number: str
    postcode: str
    city: str


def _applicant_for(person: PersonInput, address: AddressInput, municipality) -> Applicant:
    # A person this municipality already advised keeps one record. Never reuse a record with an
    # account or one known only elsewhere: that would show another town's data (IBAN, phone) here.
    existing = Applicant.objects.filter(
        name__iexact=person.name.strip(),
        email__iexact=person.email.strip(),
        user__isnull=True,
        consultations__municipality=municipality,
    )
    applicant = existing.order_by("id").first() if person.email else None
    if applicant is None:
        applicant = Applicant(
            name=person.name.strip(), email=person.email.strip(), phone=person.phone.strip(), **address.__dict__
        )
        applicant.full_clean()
        applicant.save()
    return applicant


def _property_at(address: AddressInput, applicant: Applicant, municipality) -> Property:
    # Only a property this municipality already deals with is reused, for the same reason.
    existing = Property.objects.filter(
        Q(consultations__municipality=municipality) | Q(applications__programme__municipality=municipality),
        street__iexact=address.street.strip(),
        house_number__iexact=address.house_number.strip(),
        postcode=address.postcode.strip(),
    ).distinct()
    prop = existing.order_by("id").first()
    if prop is None:
        prop = Property(registered_by=applicant, **{k: v.strip() for k, v in address.__dict__.items()})
        prop.full_clean()
        prop.save()
    return prop


@transaction.atomic
def consultation_record(
    *,
    municipality,
    by,
    person: PersonInput,
    property_address: AddressInput,
    held_on: date,
    adviser: str,
    topics: str = "",
    outcome: str = "",
) -> Consultation:
    """Erstberatung: record the advice meeting for a person and a property before they apply.

    The person and the property are found by name and e-mail and by address, or created
    (without an account); the application later finds the consultation through them.
    """
    decision = may_record_consultation(by, municipality)
    if not decision:
        raise PermissionDenied(decision.reason)
    applicant = _applicant_for(person, property_address, municipality)
    prop = _property_at(property_address, applicant, municipality)
    consultation = Consultation(
        municipality=municipality,
        applicant=applicant,
        property=prop,
        held_on=held_on,
        adviser=adviser.strip(),
        topics=topics.strip(),
        outcome=outcome.strip(),
        recorded_by=by,
    )
    consultation.full_clean()
    consultation.save()
    return consultation


@transaction.atomic
def applicant_create(*, user, **fields) -> Applicant:
    """An owner records who applies (themselves, their company, their WEG …); the profile belongs to them."""
    applicant = Applicant(user=user, **fields)
    applicant.full_clean()
    applicant.save()
    return applicant


@transaction.atomic
def property_create(*, registered_by: Applicant, **fields) -> Property:
    """Record a property (address and parcel) an applicant wants to apply for."""
    prop = Property(registered_by=registered_by, **fields)
    prop.full_clean()
    prop.save()
    return prop


# --- the owner portal ---------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicantInput:
    """Antragsteller/in as the owner enters it in the portal."""

    name: str
    street: str
    house_number: str
    postcode: str
    city: str
    iban: str
    kind: str = Applicant.Kind.PERSON
    standing: str = Applicant.Standing.OWNER
    organisation: str = ""
    email: str = ""
    phone: str = ""
    may_deduct_input_vat: bool = False


@dataclass(frozen=True)
class PropertyInput:
    street: str
    house_number: str
    postcode: str
    city: str
    cadastral_district: str = ""
    cadastral_sheet: str = ""
    parcel: str = ""
    building: str = ""


def _cleaned(data) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in data.__dict__.items()}


@transaction.atomic
def applicant_save(*, by, data: ApplicantInput, applicant_id: int | None = None, for_draft: int | None = None):
    """Save an owner's details (Antragsteller/in) and return the record to use.

    A record that a consultation or another application (than the draft ``for_draft``) refers
    to is never changed underneath it: changed details become a new record of the same owner,
    so what a submitted application said stays as it was. Raises ValidationError on bad input.
    """
    fields = _cleaned(data)
    applicant = None
    if applicant_id is not None:
        applicant = Applicant.objects.select_for_update().filter(pk=applicant_id, user=by).first()
        if applicant is None:
            raise PermissionDenied
        if all(getattr(applicant, k) == v for k, v in fields.items()):
            return applicant
        others = applicant.applications.exclude(pk=for_draft) if for_draft else applicant.applications.all()
        if others.exists() or applicant.consultations.exists():
            applicant = None
    if applicant is None:
        applicant = Applicant(user=by)
    for key, value in fields.items():
        setattr(applicant, key, value)
    applicant.full_clean()
    applicant.save()
    return applicant


@transaction.atomic
def property_find_or_create(*, data: PropertyInput, registered_by: Applicant) -> Property:
    """The property record with exactly these details, or a new one.

    Property records are shared (consultations, other applications) and so never edited
    from the portal; a changed address or parcel is another record.
    """
    fields = _cleaned(data)
    existing = Property.objects.filter(**fields).order_by("id").first()
    if existing is not None:
        return existing
    prop = Property(registered_by=registered_by, **fields)
    prop.full_clean()
    prop.save()
    return prop
