"""Who may see which allocations: staff of the programme's municipality."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Allocation


def visible_allocations(user) -> QuerySet[Allocation]:
    """Allocations of the user's municipalities; anything else is "not found"."""
    if not (user.is_authenticated and user.is_municipal_staff):
        return Allocation.objects.none()
    return Allocation.objects.filter(programme__municipality__in=user.municipality_ids)
