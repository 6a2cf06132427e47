"""Reads about people and properties."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Consultation, User
from .rules import visible_consultations


def consultations_found(user: User, *, q: str = "") -> QuerySet[Consultation]:
    """Consultations of the user's municipalities, each word matching the person's name or the address."""
    consultations = visible_consultations(user).select_related("applicant", "property", "municipality", "recorded_by")
    for word in q.split():
        consultations = consultations.filter(
            Q(applicant__name__icontains=word)
            | Q(applicant__organisation__icontains=word)
            | Q(property__street__icontains=word)
            | Q(property__house_number__iexact=word)
            | Q(property__postcode=word)
            | Q(property__city__icontains=word)
        )
    return consultations.order_by("-held_on", "-pk")


def has_authenticator_app(user: User) -> bool:
    """Whether the user has set up (confirmed) an authenticator app for the second factor."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
