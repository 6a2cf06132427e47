"""Who may see applicants, properties and initial consultations (Erstberatungen).

Owners see their own; staff see an applicant or property once it appears in an application
or a consultation of one of their municipalities; anything else is "not found".
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from core.decisions import ALLOWED, Decision

from .models import Applicant, Consultation, Property, Role, User


def _applications_of(model) -> QuerySet:
    """The applications of an applicant or property, reached through the relation the applications declare.

    This app sits below grants: it knows an application only as the other end of that foreign key.
    """
    return model._meta.get_field("applications").related_model.objects.all()


def _in_municipalities(model, model_field: str, municipality_ids) -> Q:
    applications = _applications_of(model).filter(
        **{model_field: OuterRef("pk")}, programme__municipality__in=municipality_ids
    )
    consultations = Consultation.objects.filter(**{model_field: OuterRef("pk")}, municipality__in=municipality_ids)
    return Q(Exists(applications)) | Q(Exists(consultations))


def own_applicants(user: User) -> QuerySet[Applicant]:
    """The applicant profiles a user may apply as: only their own."""
    if not user.is_authenticated:
        return Applicant.objects.none()
    return Applicant.objects.filter(user=user)


def visible_applicants(user: User) -> QuerySet[Applicant]:
    if not user.is_authenticated:
        return Applicant.objects.none()
    condition = Q(user=user)
    if user.is_municipal_staff:
        condition |= _in_municipalities(Applicant, "applicant", user.municipality_ids)
    return Applicant.objects.filter(condition)


def visible_properties(user: User) -> QuerySet[Property]:
    """Properties an owner registered or applied for, and as staff those of their municipalities' cases."""
    if not user.is_authenticated:
        return Property.objects.none()
    own_applications = _applications_of(Property).filter(property=OuterRef("pk"), applicant__user=user)
    condition = Q(registered_by__user=user) | Q(Exists(own_applications))
    if user.is_municipal_staff:
        condition |= _in_municipalities(Property, "property", user.municipality_ids)
    return Property.objects.filter(condition)


def may_apply(user: User) -> Decision:
    """Only people with the applicant role create applications, applicant profiles and properties themselves."""
    if not user.is_authenticated:
        return Decision(False, _("Bitte melden Sie sich an."))
    if user.has_role(Role.APPLICANT):
        return ALLOWED
    return Decision(False, _("Ihre Rolle erlaubt diesen Schritt nicht."))


def visible_consultations(user: User) -> QuerySet[Consultation]:
    """Consultations held for the user's municipalities; staff only."""
    if not (user.is_authenticated and user.is_municipal_staff):
        return Consultation.objects.none()
    return Consultation.objects.filter(municipality__in=user.municipality_ids)


def may_record_consultation(user: User, municipality) -> Decision:
    """Caseworkers (the on-site office) record consultations for their own municipalities."""
    if not (user.is_authenticated and user.has_role(Role.CASEWORKER)):
        return Decision(False, _("Ihre Rolle erlaubt diesen Schritt nicht."))
    if municipality is None or municipality.pk not in user.municipality_ids:
        return Decision(False, _("Kommune nicht gefunden."))
    return ALLOWED


def needs_second_factor(user: User) -> bool:
    """Municipal staff and administrators confirm their login with a second factor (TOTP); owners do not."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.is_superuser or user.is_municipal_staff


def lacks_second_factor(user: User) -> bool:
    """Logged in with the password only, where the second factor is required.

    ``is_verified`` comes from django-otp's middleware; without it nobody counts as verified.
    """
    if not needs_second_factor(user):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def may_see_full_iban(user: User) -> bool:
    """The full IBAN for those who pay and check the payment (finance, caseworkers); everyone else sees it masked."""
    return user.is_authenticated and (user.has_role(Role.FINANCE) or user.has_role(Role.CASEWORKER))
