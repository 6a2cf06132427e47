"""Reads of programmes and applications, shared by pages, API and exports."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from .models import Programme


def open_programmes(*, on: date) -> QuerySet[Programme]:
    """Programmes taking applications on a day, with what their conditions page shows."""
    return (
        Programme.objects.filter(Q(opens_on__isnull=True) | Q(opens_on__lte=on))
        .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=on))
        .select_related("municipality")
        .prefetch_related("component_rules")
    )
