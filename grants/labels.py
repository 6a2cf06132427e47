"""Words for what the database stores as codes: steps, history entries, the computation's rules.

Shared by the workspace and the owner portal so both say the same thing. No rule is decided here.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import steps
from .calculator import Bound, BuildingCategory
from .models import GrantApplication, MeasureKind
from .selectors import application_history

State = GrantApplication.State

# The history's words by logged transition: the registry's, and the import's (which is no step).
HISTORY_LABELS = {**steps.HISTORY_LABELS, "import": gettext_lazy("aus Excel übernommen (Altfall)")}


def _state_label(code: str) -> str:
    return State(code).label if code in State.values else code


def _bound_label(code: str) -> str:
    return Bound(code).label if code in Bound.values else code


def history_rows(application: GrantApplication) -> list[dict]:
    """The case's transitions, oldest first, each with its step, source and target in words."""
    return [
        {
            "log": log,
            "step": HISTORY_LABELS.get(log.transition, log.transition),
            "source": _state_label(log.source_state),
            "target": _state_label(log.state),
        }
        for log in application_history(application)
    ]


def _component_label(component: dict) -> str:
    """The measure's name, with its building category where the guideline graded the caps by it."""
    kind = component["kind"]
    label = str(MeasureKind(kind).label) if kind in MeasureKind.values else kind
    category = component.get("category", BuildingCategory.STANDARD)
    if category != BuildingCategory.STANDARD and category in BuildingCategory.values:
        return f"{label} ({BuildingCategory(category).label})"
    return label


def computation_rows(computation: dict) -> list[dict]:
    """A stored or previewed computation (GrantResult.as_dict()) as table rows, the total last."""
    rows = [
        {
            "label": _component_label(c),
            "costs": Decimal(c["costs"]),
            "eligible": Decimal(c["eligible"]),
            "grant": Decimal(c["grant"]),
            "bound_by": _bound_label(c["bound_by"]),
        }
        for c in computation.get("components", [])
    ]
    if computation:
        rows.append(
            {
                "label": _("Antrag insgesamt"),
                "costs": Decimal(computation["costs"]),
                "eligible": Decimal(computation["eligible"]),
                "grant": Decimal(computation["grant"]),
                "bound_by": _bound_label(computation["bound_by"]),
                "total": True,
            }
        )
    return rows
