"""Money: one field, one cent, one limit, one formatter for pages, charts, audit, letters and forms.

Amounts are ``Decimal`` with two places everywhere; nothing here ever goes through a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.formats import number_format

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("9999999.99")
money_validators = [MinValueValidator(ZERO), MaxValueValidator(MAX_AMOUNT)]
positive_money_validators = [MinValueValidator(CENT), MaxValueValidator(MAX_AMOUNT)]

# The number format of a euro cell in every workbook (export, statement, import template).
EXCEL_EURO_FORMAT = '#,##0.00 "€"'


def MoneyField(verbose_name: Any, **kwargs: Any) -> models.DecimalField:  # noqa: N802 - reads like a field class
    kwargs.setdefault("validators", money_validators)
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


def format_amount(amount: Decimal | int | str, *, places: int = 2) -> str:
    """12345.6 → "12.345,60" in the active language's format (grouped), without the sign of the currency."""
    return number_format(Decimal(amount), decimal_pos=places, use_l10n=True, force_grouping=True)


def format_euro(amount: Decimal | int | str | None, *, places: int = 2) -> str:
    """12345.6 → "12.345,60 €" in the active language's format; empty for no amount."""
    if amount in (None, ""):
        return ""
    return f"{format_amount(amount, places=places)} €"
