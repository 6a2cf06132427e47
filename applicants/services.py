"""Registering applicants and properties. Every write is validated by the model and runs in one transaction."""

from __future__ import annotations

from django.db import transaction

from .models import Applicant, Property


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
