"""Writes about people and properties: profiles, properties, initial consultations. Each validated, one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Applicant, Consultation, Property, User
from .rules import may_record_consultation, needs_second_factor


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
    by: User,
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
def applicant_create(*, user: User, **fields) -> Applicant:
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
    # An undertaking's identifiers and sector, for de-minimis aid (grants.deminimis).
    tax_number: str = ""
    register_number: str = ""
    register_court: str = ""
    nace_code: str = ""


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
def applicant_save(*, by: User, data: ApplicantInput, applicant_id: int | None = None, for_draft: int | None = None):
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
        # A new record of the same owner stays in the single undertaking staff assigned (the de-minimis ceiling).
        previous = applicant_id is not None and Applicant.objects.filter(pk=applicant_id, user=by).first()
        applicant = Applicant(user=by, single_undertaking_id=previous.single_undertaking_id if previous else None)
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


# Second factor (zweiter Faktor): a TOTP app, set up once, asked for at every staff login.

TOTP_DEVICE_NAME = "Authenticator-App"


def _code(code: str | None) -> str:
    code = "".join((code or "").split())  # "123 456" as some apps show it
    if not re.fullmatch(r"[0-9]{6}", code):
        raise ValidationError(
            _("Bitte geben Sie die sechs Ziffern des Codes aus Ihrer Authenticator-App ein."), code="invalid"
        )
    return code


def _throttled(device: TOTPDevice) -> ValidationError | None:
    """After a wrong code the device waits 1, 2, 4, … seconds before it checks the next one (django-otp)."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (info or {}).get("locked_until")
    if locked_until is None:
        return ValidationError(
            _("Zu viele falsche Codes. Bitte versuchen Sie es gleich noch einmal."), code="throttled"
        )
    return ValidationError(
        _("Zu viele falsche Codes. Bitte warten Sie bis %(time)s Uhr und versuchen Sie es dann noch einmal.")
        % {"time": timezone.localtime(locked_until).strftime("%H:%M:%S")},
        code="throttled",
    )


def _wrong_code() -> ValidationError:
    return ValidationError(
        _(
            "Der Code stimmt nicht oder ist abgelaufen. "
            "Bitte geben Sie den aktuellen Code aus Ihrer Authenticator-App ein."
        ),
        code="wrong",
    )


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The authenticator app a staff member is setting up; its secret stays the same until it is confirmed.

    Only while the account has no confirmed device: with a password alone nobody may add a second one.
    """
    if not needs_second_factor(user):
        raise PermissionDenied(_("Ihr Konto braucht keinen zweiten Faktor."))
    with transaction.atomic():
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise ValidationError(_("Für Ihr Konto ist bereits eine Authenticator-App eingerichtet."), code="exists")
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_enrolment_confirm(*, user: User, code: str) -> TOTPDevice:
    """Confirm the app being set up with a code it shows; from then on every login asks for one."""
    code = _code(code)
    error = None
    with transaction.atomic():
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise ValidationError(_("Für Ihr Konto ist bereits eine Authenticator-App eingerichtet."), code="exists")
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            error = ValidationError(
                _("Die Einrichtung wurde nicht begonnen. Bitte laden Sie die Seite neu."), code="not_started"
            )
        elif (error := _throttled(device)) is None:
            if device.verify_token(code):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            else:
                error = _wrong_code()
    # Raised after the transaction, so the count of wrong codes (the throttle) is kept.
    if error is not None:
        raise error
    return device


def second_factor_verify(*, user: User, code: str) -> TOTPDevice:
    """The confirmed device that accepts ``code``; each code counts once, wrong codes slow down the next try."""
    code = _code(code)
    error = None
    with transaction.atomic():
        devices = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"))
        if not devices:
            error = ValidationError(
                _(
                    "Für Ihr Konto ist noch keine Authenticator-App eingerichtet. "
                    "Bitte melden Sie sich im Browser an und richten Sie sie dort ein."
                ),
                code="no_device",
            )
        for device in devices:
            if (error := _throttled(device)) is None:
                if device.verify_token(code):
                    return device
                error = _wrong_code()
    assert error is not None  # a device was asked, so there is an answer
    raise error
