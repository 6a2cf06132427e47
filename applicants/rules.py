"""Who may see and record initial consultations (Erstberatungen)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from grants.rules import ALLOWED, Decision

from .models import Consultation, Role


def visible_consultations(user) -> QuerySet[Consultation]:
    """Consultations held for the user's municipalities; staff only."""
    if not (user.is_authenticated and user.is_municipal_staff):
        return Consultation.objects.none()
    return Consultation.objects.filter(municipality__in=user.municipality_ids)


def may_record_consultation(user, municipality) -> Decision:
    """Caseworkers (the on-site office) record consultations for their own municipalities."""
    if not (user.is_authenticated and user.has_role(Role.CASEWORKER)):
        return Decision(False, _("Ihre Rolle erlaubt diesen Schritt nicht."))
    if municipality is None or municipality.pk not in user.municipality_ids:
        return Decision(False, _("Kommune nicht gefunden."))
    return ALLOWED
