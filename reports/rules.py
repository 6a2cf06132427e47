"""Which programmes a statement of a user covers."""

from __future__ import annotations

from applicants.models import User
from budgets.rules import may_read_budgets
from grants.models import Programme


def statement_scope(user: User, *, programme_id: int | None = None, municipality_id: int | None = None):
    """The programmes a statement of ``user`` covers: one programme, or all of a municipality; None if not visible.

    Every staff role of the municipality may export it, the auditor included (it changes nothing).
    """

    if not may_read_budgets(user):
        return None
    programmes = Programme.objects.filter(municipality__in=user.municipality_ids).select_related("municipality")
    if programme_id is not None:
        programmes = programmes.filter(pk=programme_id)
    elif municipality_id is not None:
        programmes = programmes.filter(municipality_id=municipality_id)
    else:
        return None
    found = list(programmes.order_by("name", "pk"))
    return found or None
