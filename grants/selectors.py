"""Reads of programmes and applications, shared by pages, API and exports."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from .models import GrantApplication, Programme


def open_programmes(*, on: date) -> QuerySet[Programme]:
    """Programmes taking applications on a day, with what their conditions page shows."""
    return (
        Programme.objects.filter(Q(opens_on__isnull=True) | Q(opens_on__lte=on))
        .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=on))
        .select_related("municipality")
        .prefetch_related("component_rules")
    )


def applications_waiting_for(user) -> QuerySet[GrantApplication]:
    """What waits for this member of staff, oldest first: to check, approve, pay or document."""
    from applicants.models import Role

    waiting = Q(pk__in=[])
    if user.has_role(Role.CASEWORKER):
        waiting |= Q(state__in=[GrantApplication.State.SUBMITTED, GrantApplication.State.PAID])
    if user.has_role(Role.APPROVER):
        waiting |= Q(state=GrantApplication.State.CHECKED) & ~Q(checked_by=user)
    if user.has_role(Role.FINANCE):
        waiting |= Q(state=GrantApplication.State.APPROVED, invoices_certified_at__isnull=False) & ~Q(
            invoices_certified_by=user
        )
    return (
        GrantApplication.objects.filter(waiting, programme__municipality__in=user.municipality_ids)
        .select_related("programme", "applicant", "property")
        .order_by("submitted_at", "pk")
    )
