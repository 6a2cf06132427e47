"""Forms of the state notice and drawdown pages: HTTP input only; the rules are in budgets.notices, grants.drawdowns."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.forms import ShareField
from grants.forms import AmountField, DayField


class StateNoticeForm(forms.Form):
    municipality = forms.TypedChoiceField(label=_("Kommune"), coerce=int)
    number = forms.CharField(label=_("Aktenzeichen des Bescheids"), max_length=60)
    issued_on = DayField(label=_("Bescheid vom"))
    funding_body = forms.CharField(
        label=_("Bewilligungsbehörde"), max_length=200, help_text=_("etwa: Bezirksregierung Köln")
    )
    eligible_total = AmountField(label=_("zuwendungsfähige Ausgaben in Euro"))
    federal = ShareField(label=_("Anteil Bund"))
    state = ShareField(label=_("Anteil Land"))
    municipal = ShareField(label=_("Anteil Kommune"))
    private = ShareField(label=_("Anteil Private"))
    period_start = DayField(label=_("Bewilligungszeitraum von"))
    period_end = DayField(label=_("Bewilligungszeitraum bis"))

    def __init__(self, *args, municipalities=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(m.pk, m.name) for m in municipalities]
        self.fields["municipality"].choices = choices
        if len(choices) == 1:
            self.fields["municipality"].initial = choices[0][0]


class TrancheForm(forms.Form):
    """One year's cash (Kassenmittel); a row left empty is no tranche."""

    year = forms.IntegerField(label=_("Haushaltsjahr"), min_value=2000, max_value=2100)
    amount = AmountField(label=_("Kassenmittel in Euro"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        row = (self.prefix or "").rpartition("-")[2]
        if row.isdigit():  # labels a screen reader can tell apart, row by row
            number = int(row) + 1
            self.fields["year"].label = _("Haushaltsjahr (Zeile %(n)s)") % {"n": number}
            self.fields["amount"].label = _("Kassenmittel in Euro (Zeile %(n)s)") % {"n": number}


TrancheFormSet = forms.formset_factory(TrancheForm, extra=5, max_num=12, validate_max=True)


class DrawdownRequestForm(forms.Form):
    federal = AmountField(label=_("Anteil Bund in Euro"), required=False)
    state = AmountField(label=_("Anteil Land in Euro"), required=False)
    comment = forms.CharField(label=_("Bemerkung"), max_length=300, required=False)


class DrawdownReceiptForm(forms.Form):
    received_on = DayField(label=_("eingegangen am"))
    federal = AmountField(label=_("Anteil Bund in Euro"), required=False)
    state = AmountField(label=_("Anteil Land in Euro"), required=False)
