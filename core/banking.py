"""Bank data every app shares: an IBAN checked with the register of bank codes (schwifty), and one shown masked."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


def iban_of_a_known_bank(value: str) -> None:
    """An IBAN whose check digits and length are right (schwifty) and, for a German one, whose bank code exists.

    The Bundesbank's register of bank codes ships with schwifty; a German IBAN with an unknown code is a typo.
    """
    from django.core.exceptions import ValidationError

    if not value:
        return
    try:
        iban = IBAN(value)
    except SchwiftyException:
        raise ValidationError(_("Bitte prüfen Sie die IBAN; sie ist so nicht gültig."), code="invalid") from None
    if iban.country_code == "DE" and iban.bank is None:
        raise ValidationError(
            _("Zu dieser IBAN ist keine Bank bekannt (Bankleitzahl %(code)s); bitte prüfen Sie sie.")
            % {"code": iban.bank_code},
            code="unknown_bank",
        )


def masked_iban(value: str) -> str:
    """The IBAN with only its last four characters, as letters, e-mails and most pages show it."""
    value = (value or "").replace(" ", "")
    if len(value) < 8:
        return "" if not value else "•••• " + value[-4:]
    return f"{value[:2]}•• •••• •••• •••• •• {value[-4:]}"
