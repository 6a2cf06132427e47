"""Reads of programmes and applications, shared by pages, API and exports."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django_fsm_log.models import StateLog

from .models import CostItem, GrantApplication, MeasureComponent, Programme


def open_programmes(*, on: date) -> QuerySet[Programme]:
    """Programmes taking applications on a day, with what their conditions page shows."""
    return (
        Programme.objects.filter(Q(opens_on__isnull=True) | Q(opens_on__lte=on))
        .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=on))
        .select_related("municipality")
        .prefetch_related("component_rules")
    )


def programmes_with_rules(programmes: QuerySet[Programme]) -> QuerySet[Programme]:
    """Programmes with their municipality, component rules and funding area, in three queries whatever the count."""
    return programmes.select_related("municipality").prefetch_related("component_rules", "funding_area")


def applications_with_details(applications: QuerySet[GrantApplication]) -> QuerySet[GrantApplication]:
    """Applications with programme, applicant, property and their measures with cost items, in three queries."""
    return applications.select_related("programme__municipality", "applicant", "property").prefetch_related(
        Prefetch("components", queryset=MeasureComponent.objects.order_by("id")),
        Prefetch("components__cost_items", queryset=CostItem.objects.order_by("stage", "id")),
    )


def application_history(application: GrantApplication) -> QuerySet[StateLog]:
    """The logged transitions of one application (who, when, from, to, comment), oldest first."""
    return StateLog.objects.for_(application).select_related("by").order_by("timestamp", "id")
