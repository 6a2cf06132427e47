"""The proof-of-use statement (Verwendungsnachweis): asked for by staff, written in the background."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from applicants.models import User
from budgets.models import Statement
from budgets.rules import may_read_budgets
from core.errors import Code, DomainError
from core.tasks import enqueue_on_commit

from .rules import statement_scope
from .tasks import generate_statement


def statement_request(
    *, by: User, year: int, programme_id: int | None = None, municipality_id: int | None = None, narrative: str = ""
):
    """Ask for a Verwendungsnachweis of a programme (or all of a municipality's) for a year; made in the background.

    Refused as "not found" for a programme or municipality outside the user's, alike whether it exists.
    """
    decision = may_read_budgets(by)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)
    programmes = statement_scope(by, programme_id=programme_id, municipality_id=municipality_id)
    if programmes is None:
        raise DomainError(_("Förderprogramm oder Kommune nicht gefunden."), code=Code.NOT_FOUND)
    if not 2000 <= int(year) <= 2100:
        raise DomainError(_("Bitte ein Programmjahr zwischen 2000 und 2100 angeben."), code=Code.INVALID)
    with transaction.atomic():
        statement = Statement.objects.create(
            municipality=programmes[0].municipality,
            programme=programmes[0] if programme_id is not None else None,
            year=year,
            narrative=(narrative or "").strip(),
            created_by=by,
        )
        enqueue_on_commit(generate_statement, statement_id=statement.pk)
    return statement
