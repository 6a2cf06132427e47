"""Drawdown (Mittelabruf) of a state notice's federal and state shares: the proposal, the request and the receipt.

Nr. 1.4 ANBest-K / ANBest-Gk (and Nr. 1.4 ANBest-P, under VV Nr. 7 zu § 44 LHO): the town may request the state's
funds only as far as they are needed for payments due within two months after the drawdown; the months are the
municipality's setting (``Municipality.drawdown_months``), because the states' general conditions differ. The
proposal reads the ledger and the cases, so it lives here, above budgets (docs/domain.md, "State funding notice and
drawdown").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import User
from budgets.models import DRAWN_SHARES, SHARE_LABELS, SHARES, Drawdown, DrawdownReceipt, LedgerEntry, StateNotice
from budgets.notices import drawn_on_notices, ensure_finance, paid_on_notices, state_notice_for_update
from budgets.rules import visible_drawdowns
from budgets.shares import split, to_cents, to_euros
from core.errors import Code, DomainError
from core.money import CENT, format_amount

from .models import GrantApplication

Parts = dict[str, int]  # cents per share
Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class DueCase:
    """An approved case whose payment falls due within the window, with what it will need per share."""

    application: GrantApplication
    certified: bool  # the final invoices are certified: the payable rest is known; else the deadline falls due
    parts: Parts

    @property
    def amount(self) -> Decimal:
        return to_euros(sum(self.parts.values()))


@dataclass(frozen=True)
class DrawdownProposal:
    """What the town may request now, per share: made + due − requested before, never below 0 (federal and state)."""

    notice: StateNotice
    on: date
    until: date  # the end of the window: ``on`` + the municipality's drawdown months
    months: int
    made: Parts  # payments − reclaims booked on the notice's allocations
    due: Parts  # the payments due within the window (``cases``)
    requested: Parts  # what earlier drawdowns of the notice requested (federal and state)
    cases: list[DueCase]

    @property
    def may_request(self) -> Parts:
        return {s: max(self.made[s] + self.due[s] - self.requested[s], 0) for s in DRAWN_SHARES}

    def rows(self) -> list[dict]:
        """Per share, in euros, for the page: made, due, requested before, may request (own money for information)."""
        may = self.may_request
        return [
            {
                "share": share,
                "label": SHARE_LABELS[share],
                "drawn": share in DRAWN_SHARES,
                "made": to_euros(self.made[share]),
                "due": to_euros(self.due[share]),
                "requested": to_euros(self.requested[share]) if share in DRAWN_SHARES else None,
                "may_request": to_euros(may[share]) if share in DRAWN_SHARES else None,
            }
            for share in SHARES
        ]


def _case_figures(allocation_ids: list[int], application_ids: list[int]) -> dict[int, dict[str, Parts]]:
    """Per case: committed and paid per share, from its entries on these allocations (one grouped query)."""
    rows: Iterable[Any] = (
        LedgerEntry.objects.filter(allocation__in=allocation_ids, application__in=application_ids)
        .values("application", "kind")
        .annotate(**{share: Sum(f"{share}_amount") for share in SHARES})
        .order_by()
    )
    sign: dict[str, tuple[str, int]] = {
        Kind.COMMITMENT: ("committed", 1),
        Kind.RELEASE: ("committed", -1),
        Kind.PAYMENT: ("paid", 1),
        Kind.RECLAIM: ("paid", -1),
    }
    figures: dict[int, dict[str, Parts]] = {}
    for row in rows:
        case = figures.setdefault(row["application"], {"committed": dict.fromkeys(SHARES, 0),
                                                       "paid": dict.fromkeys(SHARES, 0)})  # fmt: skip
        name, factor = sign[row["kind"]]
        for share in SHARES:
            case[name][share] += factor * to_cents(Decimal(row[share] or 0))
    return figures


def payments_due(notice: StateNotice, *, until: date) -> list[DueCase]:
    """The approved cases on the notice's allocations whose payment falls due by ``until``, with their parts.

    Due are a case's final invoices certified and not yet paid (its payable rest, split by its open commitment
    per share), or its invoice deadline on or before ``until`` (its open commitment: committed − paid per share,
    the most it can still be paid).
    """
    allocation_ids = list(notice.allocations.values_list("pk", flat=True))
    cases = list(
        GrantApplication.objects.filter(
            state=GrantApplication.State.APPROVED, ledger_entries__allocation__in=allocation_ids
        )
        .filter(Q(payable_amount__isnull=False) | Q(invoice_deadline__lte=until))
        .distinct()
        .order_by("invoice_deadline", "file_number", "pk")
    )
    figures = _case_figures(allocation_ids, [case.pk for case in cases])
    due = []
    for case in cases:
        figure = figures.get(case.pk)
        if figure is None:
            continue
        open_ = {s: max(figure["committed"][s] - figure["paid"][s], 0) for s in SHARES}
        open_total = sum(open_.values())
        parts = open_
        certified = case.payable_amount is not None
        if certified:
            rest = max(to_cents(case.payable_amount) - sum(figure["paid"].values()), 0)
            if rest < open_total:  # the final payment releases the rest of the commitment: only the rest is due
                parts = split(rest, {s: Fraction(open_[s], open_total) for s in SHARES})
        if sum(parts.values()) > 0:
            due.append(DueCase(application=case, certified=certified, parts=parts))
    return due


def drawdown_proposal(notice: StateNotice, *, on: date) -> DrawdownProposal:
    """Per share, what the town may request on ``on`` under Nr. 1.4 ANBest-K/ANBest-Gk: the payments made on the
    notice's allocations, plus those due within the municipality's drawdown months, less what was requested before;
    never below 0. Only the federal and state shares are drawn down; the town's and the owners' own are shown."""
    months = notice.municipality.drawdown_months
    until = on + relativedelta(months=months)
    made = paid_on_notices([notice.pk]).get(notice.pk, dict.fromkeys(SHARES, 0))
    cases = payments_due(notice, until=until)
    due = {s: sum(case.parts[s] for case in cases) for s in SHARES}
    drawn = drawn_on_notices([notice.pk]).get(notice.pk, dict.fromkeys(DRAWN_SHARES, 0))
    requested = {s: drawn.get(s, 0) for s in SHARES}
    return DrawdownProposal(
        notice=notice, on=on, until=until, months=months, made=made, due=due, requested=requested, cases=cases
    )


def _amounts(federal, state) -> dict[str, int]:
    """Federal and state in cents: amounts of at least 0 in whole cents, at least one of them above 0."""
    parts = {}
    for share, value in (("federal", federal), ("state", state)):
        try:
            amount = Decimal(value if value not in (None, "") else 0)
        except (InvalidOperation, TypeError, ValueError):
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT) or amount > Decimal("9999999.99"):
            raise DomainError(
                _("Der Betrag für den Anteil %(share)s ist kein Betrag in Euro und Cent von mindestens 0.")
                % {"share": SHARE_LABELS[share]},
                code=Code.INVALID,
            )
        parts[share] = to_cents(amount)
    if not any(parts.values()):
        raise DomainError(_("Bitte geben Sie für Bund oder Land einen Betrag über 0 an."), code=Code.INVALID)
    return parts


@transaction.atomic
def drawdown_request(
    *, notice_id: int, by: User, federal: Decimal | None, state: Decimal | None, comment: str = ""
) -> Drawdown:
    """Mittelabruf: request federal and state funds, each at most the proposal (Nr. 1.4 ANBest-K), numbered per notice.

    Under the notice's row lock, so that two finance people never request the same euro twice.
    """
    notice = state_notice_for_update(by, notice_id)
    ensure_finance(by)
    parts = _amounts(federal, state)
    today = timezone.localdate()
    proposal = drawdown_proposal(notice, on=today)
    may = proposal.may_request
    over = [
        _(
            "Nach Nr. 1.4 ANBest-K/ANBest-Gk dürfen Mittel nur abgerufen werden, soweit sie binnen %(months)s Monaten "
            "nach dem Abruf für fällige Zahlungen benötigt werden: für den Anteil %(share)s sind das höchstens "
            "%(may)s €, abgerufen werden sollten %(amount)s €."
        )
        % {
            "months": proposal.months,
            "share": SHARE_LABELS[share],
            "may": format_amount(to_euros(may[share])),
            "amount": format_amount(to_euros(parts[share])),
        }
        for share in DRAWN_SHARES
        if parts[share] > may[share]
    ]
    if over:
        raise DomainError(over)
    beyond = _beyond_the_years_cash(notice, parts, year=today.year)
    if beyond:
        raise DomainError(beyond)
    number = (notice.drawdowns.aggregate(last=Max("number"))["last"] or 0) + 1
    return Drawdown.objects.create(
        notice=notice,
        number=number,
        requested_on=today,
        federal_amount=to_euros(parts["federal"]),
        state_amount=to_euros(parts["state"]),
        comment=(comment or "").strip()[:300],
        requested_by=by,
    )


def _beyond_the_years_cash(notice, parts: dict[str, int], *, year: int) -> list[str]:
    """Why a request would draw more of a share in ``year`` than the notice's cash of that year gives it.

    The tranche is in the terms of the eligible total; each share's part of it (split exactly by the notice's
    shares) is what the state makes available for that share in the year. A notice without tranches sets no
    yearly limit.
    """
    tranches = {t.year: t.amount for t in notice.tranches.all()}
    if not tranches:
        return []
    cash = split(to_cents(tranches.get(year, Decimal("0.00"))), notice.shares)
    drawn = notice.drawdowns.filter(requested_on__year=year).aggregate(
        **{share: Sum(f"{share}_amount") for share in DRAWN_SHARES}
    )
    problems = []
    for share in DRAWN_SHARES:
        before = to_cents(drawn[share] or Decimal("0.00"))
        if parts[share] and before + parts[share] > cash[share]:
            problems.append(
                _(
                    "Die Kassenmittel %(year)s des Bescheids geben dem Anteil %(share)s %(cash)s €; abgerufen sind "
                    "%(before)s €, abgerufen werden sollten %(amount)s €."
                )
                % {
                    "year": year,
                    "share": SHARE_LABELS[share],
                    "cash": format_amount(to_euros(cash[share])),
                    "before": format_amount(to_euros(before)),
                    "amount": format_amount(to_euros(parts[share])),
                }
            )
    return problems


@transaction.atomic
def drawdown_receive(
    *, drawdown_id: int, by: User, received_on: date | None, federal: Decimal | None, state: Decimal | None
) -> DrawdownReceipt:
    """Geldeingang: record (part of) a drawdown as received, per share at most what is open of it (four-eyes:
    another finance person than the one who requested it)."""
    found = visible_drawdowns(by).filter(pk=drawdown_id).values_list("notice_id", flat=True).first()
    if found is None:
        raise DomainError(_("Mittelabruf nicht gefunden."), code=Code.NOT_FOUND)
    state_notice_for_update(by, found)
    drawdown = Drawdown.objects.get(pk=drawdown_id)
    ensure_finance(by)
    if drawdown.requested_by_id == by.pk:
        raise DomainError(
            _(
                "Den Geldeingang erfasst eine andere Person als die, die den Mittelabruf gestellt hat "
                "(Vier-Augen-Prinzip)."
            ),
            code=Code.FORBIDDEN,
        )
    if received_on is None:
        raise DomainError(_("Bitte geben Sie an, wann das Geld eingegangen ist."), code=Code.INVALID)
    parts = _amounts(federal, state)
    if received_on > timezone.localdate():
        raise DomainError(_("Der Tag des Geldeingangs liegt in der Zukunft."))
    if received_on < drawdown.requested_on:
        raise DomainError(_("Das Geld kann nicht vor dem Abruf eingegangen sein."))
    before = drawdown.receipts.aggregate(**{share: Sum(f"{share}_amount") for share in DRAWN_SHARES})
    open_ = {
        share: to_cents(getattr(drawdown, f"{share}_amount")) - to_cents(before[share] or Decimal(0))
        for share in DRAWN_SHARES
    }
    over = [
        _("Für den Anteil %(share)s sind aus diesem Abruf noch %(open)s € offen, erfasst werden sollten %(amount)s €.")
        % {
            "share": SHARE_LABELS[share],
            "open": format_amount(to_euros(open_[share])),
            "amount": format_amount(to_euros(parts[share])),
        }
        for share in DRAWN_SHARES
        if parts[share] > open_[share]
    ]
    if over:
        raise DomainError(over)
    return DrawdownReceipt.objects.create(
        drawdown=drawdown,
        received_on=received_on,
        federal_amount=to_euros(parts["federal"]),
        state_amount=to_euros(parts["state"]),
        booked_by=by,
    )
