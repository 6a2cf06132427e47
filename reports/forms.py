from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.models import NARRATIVE_MAX_LENGTH, LedgerEntry
from core.text import TextFormField


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


class StatementForm(forms.Form):
    """Verwendungsnachweis: which programme (or all of a municipality), which year, and the edited Sachbericht."""

    scope = forms.ChoiceField(label=_("Förderprogramm"))
    year = forms.IntegerField(label=_("Programmjahr"), min_value=2000, max_value=2100)
    narrative = TextFormField(
        label=_("Sachbericht"),
        required=False,
        max_length=NARRATIVE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Ein Entwurf aus den Zahlen des Jahres; bitte vor dem Erstellen ergänzen."),
    )

    def __init__(self, *args, programmes, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(f"p{p.pk}", str(p)) for p in programmes]
        municipalities = {p.municipality_id: p.municipality for p in programmes}
        choices += [(f"m{pk}", _("alle Programme: %(m)s") % {"m": m}) for pk, m in municipalities.items()]
        self.fields["scope"].choices = choices

    def scope_ids(self) -> dict:
        scope = self.cleaned_data["scope"]
        return {"programme_id": int(scope[1:])} if scope.startswith("p") else {"municipality_id": int(scope[1:])}


class CarryOverForm(forms.Form):
    """Übertrag vorschlagen: which ended budget year, and why (for the record)."""

    from_year = forms.TypedChoiceField(label=_("aus dem Haushaltsjahr"), coerce=int)
    comment = TextFormField(
        label=_("Begründung (für die Akte)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_year"].choices = [(y, f"{y} → {y + 1}") for y in years]
