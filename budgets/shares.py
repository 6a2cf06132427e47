"""Splitting amounts into funding shares (Förderanteile) to the cent."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from core.money import CENT

from .models import SHARES


def split_by_shares(amount: Decimal, percents: dict[str, Decimal]) -> dict[str, Decimal]:
    """Split an amount into its funding shares to the cent by largest remainder.

    The parts always add up to the whole (docs/domain.md, "Splitting into shares"); ties go to the share
    listed first (federal before state before municipal before private).
    """
    cents = int((amount / CENT).to_integral_value())
    exact = {share: Decimal(cents) * percents[share] / 100 for share in SHARES}
    floors = {share: int(value.to_integral_value(rounding=ROUND_DOWN)) for share, value in exact.items()}
    left = cents - sum(floors.values())
    by_remainder = sorted(SHARES, key=lambda share: (-(exact[share] - floors[share]), SHARES.index(share)))
    for share in by_remainder[:left]:
        floors[share] += 1
    return {share: Decimal(floors[share]) * CENT for share in SHARES}
