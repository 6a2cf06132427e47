from django import template

from core.money import format_euro

register = template.Library()


@register.filter
def euro(amount) -> str:
    """12345.6 → "12.345,60 €" in the active language's format."""
    return format_euro(amount)


@register.filter
def oneline(text) -> str:
    """A multi-line address on one line, parts joined by commas (the sender line of a letter)."""
    return ", ".join(line.strip() for line in str(text or "").splitlines() if line.strip())
