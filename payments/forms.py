from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from grants.forms import DayField


class RunForm(forms.Form):
    value_date = DayField(label=_("Ausführungstag"), help_text=_("Ein Werktag, heute oder später."))


class ExecutedForm(forms.Form):
    executed_on = DayField(label=_("ausgeführt am"))


class ReturnForm(forms.Form):
    returned_on = DayField(label=_("zurückgekommen am"))
    reason = forms.CharField(label=_("Grund"), max_length=200, help_text=_("etwa: Konto erloschen, IBAN falsch"))
