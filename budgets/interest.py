"""Interest on a reclaimed grant (§ 49a (3) VwVfG): five percentage points above the base rate, per year.

The base rate (Basiszinssatz, § 247 BGB) is published by the Deutsche Bundesbank and changes on 1 January and
1 July (budgets.models.BaseRate). Interest runs from the day the notice ceased to be effective up to the day before
repayment; the span is cut at each change of the base rate and each turn of the year, and each piece bears

    amount × (base rate + 5) / 100 × days in the piece / days in its calendar year

(actual/actual: a leap year has 366 days). The pieces are added exactly and the sum is rounded to the cent once,
half up. docs/domain.md, "Reclaim and interest", says why this day count.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from core.money import format_amount

from .models import BaseRate

SURCHARGE = Decimal("5")  # percentage points above the base rate, § 49a (3) sentence 1 VwVfG
CENT = Decimal("0.01")


class MissingBaseRate(ValueError):
    """A day of the span has no base rate on record; the message says which one to add."""


@dataclass(frozen=True)
class Piece:
    start: date  # first day of interest
    end: date  # last day of interest
    base_rate: Decimal
    rate: Decimal  # base rate + 5
    days: int
    year_days: int
    interest: Fraction

    @property
    def rounded(self) -> Decimal:
        return _cents(self.interest)


@dataclass(frozen=True)
class Interest:
    amount: Decimal
    start: date
    end: date
    pieces: tuple[Piece, ...]

    @property
    def total(self) -> Decimal:
        return _cents(sum((p.interest for p in self.pieces), Fraction(0)))

    @property
    def days(self) -> int:
        return sum(p.days for p in self.pieces)


def _cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def _next_change(day: date) -> date:
    """The first 1 January or 1 July after ``day``."""
    return date(day.year, 7, 1) if day.month < 7 else date(day.year + 1, 1, 1)


def interest_49a(amount: Decimal, *, from_day: date, until: date, rates=None) -> Interest:
    """Interest on ``amount`` from ``from_day`` (the day the notice ceased to be effective) to the day before ``until``.

    ``until`` is the day of repayment (or the day the interest is computed to); no interest when it is not after
    ``from_day``. ``rates`` (valid_from → per cent) defaults to the base rates on record; a day without one
    raises MissingBaseRate.
    """
    amount = Decimal(amount)
    if rates is None:
        rates = dict(BaseRate.objects.values_list("valid_from", "rate_percent"))
    known = sorted(rates.items())
    pieces = []
    day = from_day
    while day < until:
        applicable = [(valid_from, rate) for valid_from, rate in known if valid_from <= day]
        if not applicable or _next_change(applicable[-1][0]) <= day:
            missing = date(day.year, 1, 1) if day.month < 7 else date(day.year, 7, 1)
            raise MissingBaseRate(
                _(
                    "Für den %(day)s ist kein Basiszinssatz hinterlegt: bitte den ab %(from)s geltenden Satz der "
                    "Deutschen Bundesbank nachtragen (manage.py add_base_rate)."
                )
                % {"day": f"{day:%d.%m.%Y}", "from": f"{missing:%d.%m.%Y}"}
            )
        base = Decimal(applicable[-1][1])
        stop = min(until, _next_change(day), date(day.year + 1, 1, 1))
        days = (stop - day).days
        year_days = 366 if calendar.isleap(day.year) else 365
        rate = base + SURCHARGE
        interest = Fraction(amount) * Fraction(rate) / 100 * Fraction(days, year_days)
        pieces.append(Piece(day, stop - timedelta(days=1), base, rate, days, year_days, max(interest, Fraction(0))))
        day = stop
    return Interest(amount, from_day, until - timedelta(days=1), tuple(pieces))


# --- a reclaim's account: principal, interest, and how each repayment is credited -----------------------------


@dataclass(frozen=True)
class Tranche:
    """Part of the principal that bears interest from ``start`` (the later of the payment and the day the notice
    ceased to be effective)."""

    amount: Decimal
    start: date


@dataclass(frozen=True)
class Credit:
    """How one repayment was credited, and the interest accrued up to the day it came in."""

    received_on: date
    amount: Decimal
    interest_part: Decimal
    principal_part: Decimal


@dataclass(frozen=True)
class Account:
    credits: tuple[Credit, ...]
    principal_open: Decimal  # the principal still owed
    interest_accrued: Decimal  # all interest accrued up to ``on`` (paid or not)
    interest_open: Decimal  # interest owed on ``on``, not yet paid
    on: date

    @property
    def total_open(self) -> Decimal:
        return self.principal_open + self.interest_open


class Overpayment(ValueError):
    """A repayment larger than what is owed on its day; the message names what is owed."""


def tranches_of(principal: Decimal, payments: list[tuple[date, Decimal]], *, effective_from: date) -> list[Tranche]:
    """The principal as tranches of the payments it repays, each bearing interest from the later of its payment and
    ``effective_from``. The money paid last is repaid first (the burden on the owner is the smaller, § 366 (2) BGB's
    order read for the debtor) — docs/domain.md, "Reclaim with interest"."""
    left = Decimal(principal)
    tranches: list[Tranche] = []
    for day, amount in sorted(payments, reverse=True):
        if left <= 0:
            break
        part = min(left, Decimal(amount))
        tranches.append(Tranche(part, max(day, effective_from)))
        left -= part
    if left > 0:  # more reclaimed than the payments on record show (bookings from before they were kept)
        tranches.append(Tranche(left, effective_from))
    return sorted(tranches, key=lambda t: t.start)


def reclaim_account(
    tranches: list[Tranche],
    repayments: list[tuple[date, Decimal]],
    *,
    on: date,
    interest_first: bool = True,
    interest_waived: bool = False,
    extra_interest: Decimal = Decimal("0.00"),
    rates=None,
) -> Account:
    """The state of a reclaim on ``on``: each repayment credited in the order of receipt.

    Between two events each tranche bears interest on what is left of it (``interest_49a``, rounded per period to
    the cent); a repayment is credited to the interest first and then to the principal (§ 367 (1) BGB), or the other
    way round where the programme says so; the principal is repaid oldest tranche first (it bears the most interest,
    § 366 (2) BGB). ``extra_interest`` (interest for late use, § 49a (4)) is owed from the start. A repayment beyond
    what is owed on its day raises Overpayment.
    """
    left = [[t.amount, t.start, t.start] for t in sorted(tranches, key=lambda t: t.start)]  # amount, start, accrued to
    accrued = Decimal(extra_interest)
    interest_paid = Decimal("0.00")
    credits = []

    def accrue(until: date) -> None:
        nonlocal accrued
        for tranche in left:
            if tranche[0] > 0 and until > tranche[2]:
                if not interest_waived:
                    accrued += interest_49a(tranche[0], from_day=tranche[2], until=until, rates=rates).total
                tranche[2] = until

    for received_on, amount in sorted(repayments, key=lambda r: r[0]):
        amount = Decimal(amount)
        accrue(received_on)
        principal = sum((t[0] for t in left), Decimal("0.00"))
        interest = accrued - interest_paid
        if amount > principal + interest:
            raise Overpayment(
                _("Am %(day)s waren %(owed)s € offen (Hauptforderung %(principal)s €, Zinsen %(interest)s €).")
                % {
                    "day": f"{received_on:%d.%m.%Y}",
                    "owed": _euro(principal + interest),
                    "principal": _euro(principal),
                    "interest": _euro(interest),
                }
            )
        if interest_first:
            to_interest = min(amount, interest)
            to_principal = amount - to_interest
        else:
            to_principal = min(amount, principal)
            to_interest = amount - to_principal
        interest_paid += to_interest
        rest = to_principal
        for tranche in left:  # oldest first
            part = min(rest, tranche[0])
            tranche[0] -= part
            rest -= part
        credits.append(Credit(received_on, amount, to_interest, to_principal))
    accrue(on)
    principal = sum((t[0] for t in left), Decimal("0.00"))
    return Account(tuple(credits), principal, accrued, accrued - interest_paid, on)


def _euro(amount: Decimal) -> str:
    return format_amount(amount)
