"""Funding shares (Förderanteile) as exact fractions, and splitting amounts into them to the cent.

A share is a fraction of one (1/3, 3/5, 33,34 %); the four shares of an allocation sum to exactly one.
Amounts are split in whole cents: the split of one amount by largest remainder (``split``), and the
booking of a difference so that a running figure stays the exact split of its running total
(``apportion``, docs/domain.md, "Splitting into shares").
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.utils.translation import gettext as _

from core.money import CENT

SHARES = ("federal", "state", "municipal", "private")
ONE = Fraction(1)


class ShareError(ValueError):
    """A share written in a way that is not a fraction of the whole; the message is meant for the user."""


def parse_share(text: str | Decimal | int | Fraction) -> Fraction:
    """A share as typed: a fraction of the whole ("1/3", "2/5") or a per cent ("33,34", "33.3333 %", "60").

    Per cents may have any number of decimals; thirds are exact only as a fraction ("1/3").
    """
    if isinstance(text, Fraction):
        value = text
    elif isinstance(text, (int, Decimal)):
        value = Fraction(text) / 100
    else:
        raw = str(text).strip().replace("\u00a0", " ")
        if not raw:
            return Fraction(0)
        try:
            if "/" in raw:
                numerator, _slash, denominator = raw.partition("/")
                value = Fraction(int(numerator.strip()), int(denominator.strip()))
            else:
                value = Fraction(Decimal(raw.removesuffix("%").strip().replace(",", "."))) / 100
        except (ValueError, ZeroDivisionError, InvalidOperation, ArithmeticError):
            raise ShareError(
                _("„%(text)s“ ist kein Anteil: bitte als Bruch (1/3) oder in Prozent (33,34) angeben.") % {"text": raw}
            ) from None
    if value < 0 or value > 1:
        raise ShareError(_("Ein Anteil liegt zwischen 0 und 1 (0 % bis 100 %)."))
    return value


def as_parts(fractions: dict[str, Fraction]) -> tuple[dict[str, int], int]:
    """Fractions over their least common denominator: whole numbers of parts and the whole they are parts of."""
    whole = math.lcm(*(f.denominator for f in fractions.values())) or 1
    return {share: int(f * whole) for share, f in fractions.items()}, whole


def format_share(fraction: Fraction) -> str:
    """A share as people read it: 1/3, 3/5, 0, 1."""
    return str(fraction)


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def to_euros(cents: int) -> Decimal:
    return Decimal(cents) * CENT


def split(cents: int, fractions: dict[str, Fraction]) -> dict[str, int]:
    """Split whole cents into shares by largest remainder: the parts add up to the whole, each within a cent.

    Ties go to the share listed first (federal before state before municipal before private).
    """
    exact = {share: cents * fractions[share] for share in SHARES}
    return apportion(cents, exact, low=dict.fromkeys(SHARES, 0), high=dict.fromkeys(SHARES, max(cents, 0)))


def split_amount(amount: Decimal, fractions: dict[str, Fraction]) -> dict[str, Decimal]:
    """Split an amount in euros by exact shares, to the cent (largest remainder)."""
    return {share: to_euros(part) for share, part in split(to_cents(amount), fractions).items()}


def split_by_shares(amount: Decimal, percents: dict[str, Decimal]) -> dict[str, Decimal]:
    """Split an amount in euros by shares given in per cent (summing to 100), to the cent."""
    parts = split(to_cents(amount), {share: Fraction(percents[share]) / 100 for share in SHARES})
    return {share: to_euros(part) for share, part in parts.items()}


def apportion(cents: int, ideal: dict[str, Fraction], *, low: dict[str, int], high: dict[str, int]) -> dict[str, int]:
    """Whole-cent parts adding up to ``cents``, each within ``[low, high]``, as close to ``ideal`` as they allow.

    ``ideal`` is what each share should get exactly (fractions of a cent, summing to ``cents``). The parts
    are the ideal rounded down, then the cents left over go one by one to the largest remainders (ties to
    the share listed first); a share at its bound passes its cents to the next. Callers make sure the bounds
    can hold the amount (sum of ``low`` ≤ cents ≤ sum of ``high``).
    """
    parts = {s: min(max(math.floor(ideal[s]), low[s]), high[s]) for s in SHARES}
    rest = cents - sum(parts.values())
    order = SHARES.index
    while rest > 0:
        room = [s for s in SHARES if parts[s] < high[s]]
        if not room:
            raise ValueError("the bounds cannot hold the amount")
        # Most behind its ideal first; each gets a cent per round, as many as it is behind (at least one).
        room.sort(key=lambda s: (-(ideal[s] - parts[s]), order(s)))
        for s in room:
            give = min(rest, high[s] - parts[s], max(1, math.ceil(ideal[s] - parts[s])))
            parts[s] += give
            rest -= give
            if rest == 0:
                break
    while rest < 0:
        above = [s for s in SHARES if parts[s] > low[s]]
        if not above:
            raise ValueError("the bounds cannot hold the amount")
        above.sort(key=lambda s: (-(parts[s] - ideal[s]), -order(s)))
        for s in above:
            take = min(-rest, parts[s] - low[s], max(1, math.ceil(parts[s] - ideal[s])))
            parts[s] -= take
            rest += take
            if rest == 0:
                break
    return parts
