"""Who may read the budget: staff of the programme's municipality, every staff role; owners never."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.decisions import ALLOWED, Decision

from .models import Allocation, Drawdown, LedgerEntry, Statement, StateNotice

# The ledger sits beside the accounts, not on them: the user model is named for the types only.
if TYPE_CHECKING:
    from applicants.models import User


def may_read_budgets(user: User) -> Decision:
    if not user.is_authenticated:
        return Decision(False, _("Bitte melden Sie sich an."))
    if user.is_municipal_staff:
        return ALLOWED
    return Decision(False, _("Mittelausstattung und Buchungen sehen nur Mitarbeitende der Kommune."))


def may_manage_allocations(user: User) -> Decision:
    """Allocations (amount and shares) are set by finance (Kämmerei), as the state's grant notice gives them."""
    if not user.is_authenticated:
        return Decision(False, _("Bitte melden Sie sich an."))
    if user.has_role("finance"):
        return ALLOWED
    return Decision(False, _("Mittelausstattungen legt die Finanzabteilung an und ändert sie."))


def may_manage_state_notices(user: User) -> Decision:
    """The state's notices, their drawdowns and receipts are recorded by finance, as allocations are."""
    if not user.is_authenticated:
        return Decision(False, _("Bitte melden Sie sich an."))
    if user.has_role("finance"):
        return ALLOWED
    return Decision(
        False, _("Zuwendungsbescheide des Landes, Mittelabrufe und Geldeingänge erfasst die Finanzabteilung.")
    )


def visible_allocations(user: User) -> QuerySet[Allocation]:
    if not may_read_budgets(user):
        return Allocation.objects.none()
    return Allocation.objects.filter(programme__municipality__in=user.municipality_ids)


def visible_ledger_entries(user: User) -> QuerySet[LedgerEntry]:
    if not may_read_budgets(user):
        return LedgerEntry.objects.none()
    return LedgerEntry.objects.filter(allocation__programme__municipality__in=user.municipality_ids)


def visible_statements(user: User):
    if not may_read_budgets(user):
        return Statement.objects.none()
    return Statement.objects.filter(municipality__in=user.municipality_ids)


def visible_state_notices(user: User) -> QuerySet[StateNotice]:
    """The state's funding notices of the user's municipalities, for every staff role; owners none."""
    if not may_read_budgets(user):
        return StateNotice.objects.none()
    return StateNotice.objects.filter(municipality__in=user.municipality_ids)


def visible_drawdowns(user: User) -> QuerySet[Drawdown]:
    if not may_read_budgets(user):
        return Drawdown.objects.none()
    return Drawdown.objects.filter(notice__municipality__in=user.municipality_ids)
