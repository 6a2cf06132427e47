from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from grants.forms import DayField


class RunForm(forms.Form):
    value_date = DayField(label=_("Ausführungstag"), help_text=_("Ein Werktag, heute oder später."))
    municipality = forms.TypedChoiceField(label=_("Kommune"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, municipalities=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(m.pk, m.name) for m in municipalities]
        if len(choices) > 1:  # only where there is a choice to make
            self.fields["municipality"].choices = choices
            self.fields["municipality"].required = True
        else:
            del self.fields["municipality"]


class ExecutedForm(forms.Form):
    executed_on = DayField(label=_("ausgeführt am"))


class ReturnForm(forms.Form):
    returned_on = DayField(label=_("zurückgekommen am"))
    reason = forms.CharField(label=_("Grund"), max_length=200, help_text=_("etwa: Konto erloschen, IBAN falsch"))
