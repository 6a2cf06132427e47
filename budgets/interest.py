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
