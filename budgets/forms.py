from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LedgerEntry


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Art"), required=False, choices=[("", _("alle")), *LedgerEntry.Kind.choices])
    booked_from = forms.DateField(label=_("gebucht ab"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    booked_to = forms.DateField(label=_("gebucht bis"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label=_("Aktenzeichen oder Buchungstext"), required=False)

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            k: data.get(k) or ("" if k in ("kind", "q") else None) for k in ("kind", "booked_from", "booked_to", "q")
        }
