"""The state's funding notice (Zuwendungsbescheid des Landes): recorded with its cash per year, allocations drawing
on it, and its figures per share: paid on its allocations, drawn down from the state, received.

Reading the applications' fields (what is due) is above this layer: grants.drawdowns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from core.errors import Code, DomainError
from core.money import ZERO

from .models import (
    DRAWN_SHARES,
    SHARES,
    Allocation,
    Drawdown,
    DrawdownReceipt,
    LedgerEntry,
    StateNotice,
    StateTranche,
    state_notice_problems,
    tranche_problems,
)
from .rules import (
    may_manage_allocations,
    may_manage_state_notices,
    visible_allocations,
    visible_drawdowns,
    visible_state_notices,
)
from .selectors import allocations_with_balance
from .shares import to_cents, to_euros

if TYPE_CHECKING:
    from applicants.models import User

Parts = dict[str, int]  # cents per share
MONEY = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class TrancheInput:
    year: int
    amount: Decimal


def _messages(error: ValidationError, model) -> list[str]:
    """Each message with the field it is about, so that a page or an API client can tell."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    found = []
    for name, messages in error.message_dict.items():
        label = "" if name == "__all__" else f"{model._meta.get_field(name).verbose_name}: "
        found += [f"{label}{message}" for message in messages]
    return found


def ensure_finance(by: User, rule=may_manage_state_notices) -> None:
    """Notices, drawdowns and receipts are finance's (Kämmerei); linking an allocation is ``may_manage_allocations``."""
    decision = rule(by)
    if not decision:
        raise DomainError(decision.reason, code=Code.FORBIDDEN)


@transaction.atomic
def state_notice_create(
    *,
    by: User,
    municipality_id: int,
    number: str,
    issued_on: date,
    funding_body: str,
    eligible_total: Decimal,
    shares: dict[str, Fraction],
    period_start: date,
    period_end: date,
    tranches: list[TrancheInput],
) -> StateNotice:
    """Record the state's funding notice with its cash per year: shares exactly one, tranches within period, total."""
    if municipality_id not in by.municipality_ids:
        raise DomainError(_("Kommune nicht gefunden."), code=Code.NOT_FOUND)
    ensure_finance(by)
    notice = StateNotice(
        municipality_id=municipality_id,
        number=(number or "").strip(),
        issued_on=issued_on,
        funding_body=(funding_body or "").strip(),
        eligible_total=eligible_total,
        period_start=period_start,
        period_end=period_end,
        created_by=by,
    )
    notice.set_shares(shares)
    try:
        notice.full_clean()
    except ValidationError as error:
        raise DomainError(_messages(error, StateNotice), code=Code.INVALID) from None
    notice.save()
    problems = tranche_problems(notice, [(tranche.year, tranche.amount) for tranche in tranches])
    if problems:
        raise DomainError(problems, code=Code.INVALID)
    for tranche in tranches:
        row = StateTranche(notice=notice, year=tranche.year, amount=tranche.amount)
        try:
            row.full_clean()
        except ValidationError as error:
            raise DomainError(_messages(error, StateTranche), code=Code.INVALID) from None
        row.save()
    return notice


def state_notice_for_update(by: User, notice_id: int) -> StateNotice:
    """Lock the notice row: what is linked to it and drawn down from it is decided one at a time."""
    notice = visible_state_notices(by).select_for_update().filter(pk=notice_id).first()
    if notice is None:
        raise DomainError(_("Zuwendungsbescheid des Landes nicht gefunden."), code=Code.NOT_FOUND)
    return notice


@transaction.atomic
def allocation_link_state_notice(*, allocation_id: int, notice_id: int | None, by: User) -> Allocation:
    """Let an allocation draw on a state notice (or on none): same town, year in the period, same shares, total kept."""
    allocation = visible_allocations(by).select_for_update().filter(pk=allocation_id).first()
    if allocation is None:
        raise DomainError(_("Mittelausstattung nicht gefunden."), code=Code.NOT_FOUND)
    ensure_finance(by, may_manage_allocations)
    notice = None if notice_id is None else state_notice_for_update(by, notice_id)
    if notice is not None:
        problems = state_notice_problems(allocation, notice)
        if problems:
            raise DomainError(problems)
    allocation.state_notice = notice
    allocation.save(update_fields=["state_notice"])
    return allocation


def _parts(rows, key: str, shares=SHARES, sign=None) -> dict[int, Parts]:
    found: dict[int, Parts] = {}
    for row in rows:
        parts = found.setdefault(row[key], dict.fromkeys(shares, 0))
        factor = sign(row) if sign else 1
        for share in shares:
            parts[share] += factor * to_cents(Decimal(row[share] or 0))
    return found


def paid_on_notices(notice_ids) -> dict[int, Parts]:
    """Per notice and share: payments − reclaims booked on its allocations, exactly from the entries' share amounts."""
    rows = (
        LedgerEntry.objects.filter(
            allocation__state_notice__in=notice_ids, kind__in=[LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.RECLAIM]
        )
        .values("allocation__state_notice", "kind")
        .annotate(**{share: Sum(f"{share}_amount") for share in SHARES})
        .order_by()
    )
    return _parts(
        rows, "allocation__state_notice", sign=lambda row: 1 if row["kind"] == LedgerEntry.Kind.PAYMENT else -1
    )


def drawn_on_notices(notice_ids) -> dict[int, Parts]:
    """Per notice: what its drawdowns requested, federal and state."""
    rows = (
        Drawdown.objects.filter(notice__in=notice_ids)
        .values("notice")
        .annotate(**{share: Sum(f"{share}_amount") for share in DRAWN_SHARES})
        .order_by()
    )
    return _parts(rows, "notice", DRAWN_SHARES)


def received_on_notices(notice_ids) -> dict[int, Parts]:
    rows = (
        DrawdownReceipt.objects.filter(drawdown__notice__in=notice_ids)
        .values("drawdown__notice")
        .annotate(**{share: Sum(f"{share}_amount") for share in DRAWN_SHARES})
        .order_by()
    )
    return _parts(rows, "drawdown__notice", DRAWN_SHARES)


def _received(share: str):
    sums = DrawdownReceipt.objects.filter(drawdown=OuterRef("pk")).values("drawdown").order_by()
    return Coalesce(
        Subquery(sums.annotate(sum=Sum(f"{share}_amount")).values("sum")[:1]), Value(ZERO), output_field=MONEY
    )


def drawdowns_with_receipts(drawdowns: QuerySet[Drawdown]) -> QuerySet[Drawdown]:
    """Drawdowns with what came in per share (``received_federal``, ``received_state``) and their receipts."""
    return (
        drawdowns.select_related("notice", "requested_by")
        .prefetch_related(Prefetch("receipts", queryset=DrawdownReceipt.objects.select_related("booked_by")))
        .annotate(received_federal=_received("federal"), received_state=_received("state"))
    )


def drawdown_status(drawdown: Drawdown) -> str:
    """Requested, partly received or received: from the annotated receipts (``drawdowns_with_receipts``)."""
    received = drawdown.received_federal + drawdown.received_state  # type: ignore[attr-defined]
    if received >= drawdown.amount:
        return Drawdown.Status.RECEIVED
    return Drawdown.Status.PARTLY_RECEIVED if received > 0 else Drawdown.Status.REQUESTED


def open_drawdowns(user: User) -> list[Drawdown]:
    """The drawdowns of the user's towns that have not fully come in, oldest first (the budget overview)."""
    found = []
    for drawdown in drawdowns_with_receipts(visible_drawdowns(user)).order_by("requested_on", "id"):
        if drawdown_status(drawdown) != Drawdown.Status.RECEIVED:
            drawdown.received = drawdown.received_federal + drawdown.received_state  # type: ignore[attr-defined]
            drawdown.open = drawdown.amount - drawdown.received  # type: ignore[attr-defined]
            found.append(drawdown)
    return found


def state_notices_overview(user: User) -> list[StateNotice]:
    """The user's towns' notices with tranches, allocations (committed, paid) and per share drawn and received.

    A fixed number of queries however many notices, allocations and drawdowns there are.
    """
    allocations = allocations_with_balance(Allocation.objects.all()).order_by("year", "programme__name")
    notices = list(
        visible_state_notices(user)
        .select_related("municipality")
        .prefetch_related(
            Prefetch("tranches", queryset=StateTranche.objects.order_by("year")),
            Prefetch("allocations", queryset=allocations),
        )
    )
    ids = [notice.pk for notice in notices]
    drawn, received = drawn_on_notices(ids), received_on_notices(ids)
    nothing = dict.fromkeys(DRAWN_SHARES, 0)
    for notice in notices:
        notice.drawn = drawn.get(notice.pk, nothing)  # type: ignore[attr-defined]
        notice.received = received.get(notice.pk, nothing)  # type: ignore[attr-defined]
        drawn_total, received_total = sum(notice.drawn.values()), sum(notice.received.values())  # type: ignore[attr-defined]
        notice.drawn_total = to_euros(drawn_total)  # type: ignore[attr-defined]
        notice.received_total = to_euros(received_total)  # type: ignore[attr-defined]
        notice.open_total = to_euros(drawn_total - received_total)  # type: ignore[attr-defined]
    return notices
