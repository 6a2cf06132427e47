from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def euro(amount) -> str:
    """12345.6 → "12.345,60 €" in the active language's format."""
    if amount in (None, ""):
        return ""
    return f"{number_format(Decimal(amount), decimal_pos=2, use_l10n=True, force_grouping=True)} €"


@register.filter
def oneline(text) -> str:
    """A multi-line address on one line, parts joined by commas (the sender line of a letter)."""
    return ", ".join(line.strip() for line in str(text or "").splitlines() if line.strip())
