"""Forms of the caseworker workspace: HTTP input only, no business rule."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import Municipality
from core.text import TextFormField, text_formfield

from .models import (
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    Appeal,
    GrantApplication,
    Inspection,
    LetterTemplate,
    Programme,
    Revocation,
)
from .selectors import APPLICATION_SORTS, DEFAULT_SORT
from .services import ComponentInput, CostInput


class AmountField(forms.DecimalField):
    """A euro amount as Germans write it ("12.345,67"); "12345.67" and "12,345.67" are understood too."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)
        self.widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace("€", "").replace(" ", "").replace("\u00a0", "")
            if "," in value and "." in value and value.rfind(".") > value.rfind(","):
                value = value.replace(",", "")  # "12,345.67" as the English pages show amounts
            elif "," in value:
                value = value.replace(".", "").replace(",", ".")
            elif re.fullmatch(r"\d{1,3}(\.\d{3})+", value):
                value = value.replace(".", "")
        return super().to_python(value)


def _sort_choices():
    labels = {
        "file_number": _("Aktenzeichen"),
        "applicant": _("Antragsteller/in"),
        "street": _("Straße"),
        "programme": _("Programm"),
        "state": _("Status"),
        "submitted": _("Eingang"),
        "grant": _("Zuschuss"),
    }
    choices = []
    for key in APPLICATION_SORTS:
        choices += [(key, _("%(label)s aufsteigend") % {"label": labels[key]})]
        choices += [(f"-{key}", _("%(label)s absteigend") % {"label": labels[key]})]
    return choices


class ApplicationFilterForm(forms.Form):
    q = forms.CharField(label=_("Suche"), required=False, help_text=_("Aktenzeichen, Name oder Adresse"))
    programme = forms.TypedChoiceField(label=_("Programm"), required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(label=_("Status"), required=False)
    year = forms.TypedChoiceField(label=_("Jahr"), required=False, coerce=int, empty_value=None)
    street = forms.CharField(label=_("Straße"), required=False)
    applicant = forms.CharField(label=_("Antragsteller/in"), required=False)
    sort = forms.ChoiceField(label=_("Sortierung"), required=False)

    def __init__(self, *args, programmes=(), years=(), **kwargs):
        super().__init__(*args, **kwargs)
        every = [("", _("alle"))]
        self.fields["programme"].choices = every + [(p.pk, p.name) for p in programmes]
        self.fields["state"].choices = every + list(GrantApplication.State.choices)
        self.fields["year"].choices = every + [(y, str(y)) for y in years]
        self.fields["sort"].choices = _sort_choices()
        self.fields["sort"].initial = DEFAULT_SORT

    def filters(self) -> dict:
        """The selector's keyword arguments; an invalid field is simply not applied."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if self.is_bound and not self.is_valid():
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return {
            "programme": data.get("programme"),
            "state": data.get("state") or "",
            "year": data.get("year"),
            "street": data.get("street") or "",
            "applicant": data.get("applicant") or "",
            "q": data.get("q") or "",
            "sort": data.get("sort") or DEFAULT_SORT,
        }


class CommitmentFilterForm(forms.Form):
    """The list of cases in their commitment period: what stands where, by programme, by the year it ends."""

    STATUSES = [
        ("running", _("läuft")),
        ("inspection_due", _("Kontrolle fällig (keine in den letzten zwölf Monaten)")),
        ("ending", _("endet in den nächsten zwölf Monaten")),
        ("sale", _("Veräußerung gemeldet")),
        ("broken", _("Widerrufsverfahren")),
        ("fulfilled", _("erfüllt")),
        ("all", _("alle")),
    ]

    q = forms.CharField(label=_("Suche"), required=False, help_text=_("Aktenzeichen, Name oder Adresse"))
    programme = forms.TypedChoiceField(label=_("Programm"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Stand"), required=False, choices=STATUSES, initial="running")
    ends_by = forms.TypedChoiceField(label=_("endet spätestens im Jahr"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, programmes=(), **kwargs):
        super().__init__(*args, **kwargs)
        from django.utils import timezone

        this_year = timezone.localdate().year
        self.fields["programme"].choices = [("", _("alle")), *((p.pk, p.name) for p in programmes)]
        self.fields["ends_by"].choices = [("", _("alle")), *((y, str(y)) for y in range(this_year, this_year + 31))]

    @classmethod
    def defaults(cls) -> dict:
        return {"programme": None, "status": "running", "ends_by": None, "q": ""}

    def filters(self) -> dict:
        """The selector's keyword arguments; an invalid field is simply not applied."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        return {
            "programme": data.get("programme"),
            "status": data.get("status") or "running",
            "ends_by": data.get("ends_by"),
            "q": data.get("q") or "",
        }


class StepForm(forms.Form):
    comment = TextFormField(
        label=_("Kommentar"), required=False, max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class DeminimisReductionForm(forms.Form):
    reason = TextFormField(
        label=_("Begründung der Kürzung"), max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeminimisRegisterForm(forms.Form):
    """The period (and municipality) of the de-minimis register export."""

    granted_from = forms.DateField(
        label=_("gewährt ab"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    granted_until = forms.DateField(
        label=_("gewährt bis"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Any id is taken: another town's finds nothing (grants.deminimis.register_entries), as in the API.
    municipality = forms.IntegerField(label=_("Kommune"), required=False, min_value=1, widget=forms.Select)

    def __init__(self, *args, municipalities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"].widget.choices = [("", _("alle")), *((m.pk, m.name) for m in municipalities)]

    def clean(self):
        data = super().clean()
        start, end = data.get("granted_from"), data.get("granted_until")
        if start and end and end < start:
            raise forms.ValidationError(_("Das Ende des Zeitraums liegt vor seinem Beginn."))
        return data


class RebaseForm(forms.Form):
    reason = TextFormField(
        label=_("Begründung der Umstellung"), max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteForm(forms.Form):
    text = TextFormField(label=_("Neuer interner Vermerk"), widget=forms.Textarea(attrs={"rows": 3}))


class LinkConsultationForm(forms.Form):
    consultation = forms.IntegerField(widget=forms.HiddenInput)


class CertifyInvoiceForm(forms.Form):
    """One invoice certified: its eligible net amount, and why, where less than the invoice."""

    eligible_amount = AmountField(label=_("förderfähig netto in €"))
    reason = TextFormField(
        label=_("Grund einer Kürzung"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CertifyInvoicesForm(forms.Form):
    """The actual costs of each measure from its final invoices, entered as one line per measure."""

    comment = TextFormField(
        label=_("Vermerk „sachlich richtig“"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, components=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.components = list(components)
        for component in self.components:
            label = component.get_kind_display()
            self.fields[f"net_{component.kind}"] = AmountField(label=_("%(kind)s: netto in €") % {"kind": label})
            self.fields[f"vat_{component.kind}"] = AmountField(
                label=_("%(kind)s: Umsatzsteuer in €") % {"kind": label}, initial=Decimal("0")
            )
        self.order_fields([*(f for c in self.components for f in (f"net_{c.kind}", f"vat_{c.kind}")), "comment"])

    def clean(self):
        cleaned = super().clean()
        for component in self.components:
            net, vat = cleaned.get(f"net_{component.kind}"), cleaned.get(f"vat_{component.kind}")
            if net is not None and vat is not None and vat > net:
                self.add_error(
                    f"vat_{component.kind}", _("Die Umsatzsteuer kann nicht höher sein als der Nettobetrag.")
                )
        return cleaned

    def invoices(self):
        return [
            ComponentInput(
                kind=c.kind,
                area_m2=c.area_m2,
                costs=(
                    CostInput(
                        str(_("Schlussrechnung")),
                        self.cleaned_data[f"net_{c.kind}"],
                        self.cleaned_data[f"vat_{c.kind}"] or Decimal("0"),
                    ),
                ),
            )
            for c in self.components
        ]


class ImportForm(forms.Form):
    """Altfälle übernehmen: the programme, the workbook, and whether valid rows go in when others fail."""

    programme = forms.ModelChoiceField(label=_("Förderprogramm"), queryset=None)
    workbook = forms.FileField(label=_("Excel-Datei (.xlsx)"))
    valid_only = forms.BooleanField(
        label=_("nur gültige Zeilen übernehmen"),
        required=False,
        help_text=_("ohne Haken: alle Zeilen oder keine"),
    )

    def __init__(self, *args, programmes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = programmes


class LetterTemplateForm(forms.ModelForm):
    """The wording of one kind of letter, for one of the staff member's municipalities or one of its programmes."""

    class Meta:
        model = LetterTemplate
        formfield_callback = text_formfield
        fields = [
            "municipality",
            "programme",
            "kind",
            "subject",
            "letterhead",
            "body",
            "signatory",
            "legal_remedy_notice",
        ]
        widgets = {
            "letterhead": forms.Textarea(attrs={"rows": 4}),
            "body": forms.Textarea(attrs={"rows": 16}),
            "signatory": forms.Textarea(attrs={"rows": 3}),
            "legal_remedy_notice": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        ids = user.municipality_ids
        self.fields["municipality"].queryset = Municipality.objects.filter(pk__in=ids).order_by("name")
        self.fields["programme"].queryset = (
            Programme.objects.filter(municipality__in=ids).select_related("municipality").order_by("name")
        )
        self.fields["programme"].help_text = _("leer: gilt für alle Programme der Kommune")
        if len(ids) == 1:
            self.fields["municipality"].initial = next(iter(ids))


class DayField(forms.DateField):
    """A day as Germans write it ("31.10.2025"); ISO ("2025-10-31") is understood too, as a date input sends it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%d.%m.%Y", "%Y-%m-%d"])
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)


class SendingForm(forms.Form):
    sent_on = DayField(label=_("zur Post gegeben am"))


class WaiverForm(forms.Form):
    received_on = DayField(label=_("Verzicht eingegangen am"))


class RemedyDefectForm(forms.Form):
    defect = TextFormField(
        label=_("Was an der Rechtsbehelfsbelehrung unrichtig ist"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Etwa eine falsche Frist, Stelle oder Form; dann gilt die Jahresfrist (§ 58 Abs. 2 VwGO)."),
    )


class AppealForm(forms.Form):
    kind = forms.ChoiceField(label=_("Art"), choices=Appeal.Kind.choices)
    court = forms.CharField(label=_("Gericht (bei einer Klage)"), max_length=200, required=False)
    received_on = DayField(label=_("eingegangen am"))
    grounds = TextFormField(label=_("Begründung"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class AppealDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Ergebnis"), choices=[c for c in Appeal.Outcome.choices if c[0] != Appeal.Outcome.PENDING]
    )
    decided_on = DayField(label=_("entschieden am"))
    notes = TextFormField(
        label=_("Vermerk zur Entscheidung"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )


class RevocationOpenForm(forms.Form):
    """A revocation case opened: reason, facts, the amount meant to be revoked, and the owner's time to answer."""

    reason = forms.ChoiceField(label=_("Grund"), choices=[("", _("– bitte wählen –")), *Revocation.Reason.choices])
    facts = TextFormField(
        label=_("Sachverhalt"),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Was festgestellt wurde, wann und wodurch; es steht so im Anhörungsschreiben."),
    )
    intended_amount = AmountField(
        label=_("beabsichtigter Widerruf in €"),
        required=False,
        help_text=_("Ohne Angabe: der ganze bewilligte Zuschuss."),
    )
    hearing_deadline = DayField(
        label=_("Frist zur Äußerung"), help_text=_("Angemessen nach § 28 VwVfG: frühestens in zwei Wochen.")
    )


class RevocationDecisionForm(forms.Form):
    """The decision after the hearing: revocation or withdrawal by an amount from a day, or interest for late use."""

    outcome = forms.ChoiceField(
        label=_("Entscheidung"),
        choices=[
            (Revocation.Outcome.REVOKED, Revocation.Outcome.REVOKED.label),
            (Revocation.Outcome.WITHDRAWN, Revocation.Outcome.WITHDRAWN.label),
            (Revocation.Outcome.INTEREST, Revocation.Outcome.INTEREST.label),
        ],
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
    )
    revoked_amount = AmountField(label=_("aufgehobener Betrag in €"), required=False)
    effective_from = DayField(label=_("unwirksam ab"), required=False)
    due_on = DayField(label=_("zu erstatten bis"), required=False)
    interest_waived = forms.BooleanField(
        label=_("von Zinsen absehen (§ 49a Abs. 3 Satz 2 VwVfG)"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )
    late_use_amount = AmountField(label=_("verspätet verwendeter Betrag in € (§ 49a Abs. 4 VwVfG)"), required=False)
    late_use_from = DayField(label=_("ausgezahlt am"), required=False)
    late_use_until = DayField(label=_("zweckentsprechend verwendet am"), required=False)
    comment = TextFormField(
        label=_("Begründung"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Mit dem Ermessen und der Würdigung der Äußerung (§ 39 VwVfG); sie steht so im Bescheid."),
    )


class RepaymentForm(forms.Form):
    received_on = DayField(label=_("eingegangen am"))
    amount = AmountField(label=_("Betrag in €"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); each is checked by the upload service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                # .xml: a final invoice may be an XRechnung; the upload service refuses it for any other kind.
                attrs={"accept": ".pdf,.jpg,.jpeg,.png,.xml,application/pdf,image/jpeg,image/png,application/xml"}
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else single(data, initial)


class InspectionForm(forms.Form):
    """An inspection on site in the commitment period: the day, the finding, what was found, photos."""

    inspected_on = DayField(label=_("kontrolliert am"))
    finding = forms.ChoiceField(
        label=_("Befund"),
        choices=Inspection.Finding.choices,
        initial=Inspection.Finding.OK,
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
    )
    notes = TextFormField(
        label=_("Feststellungen"),
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Pflicht bei einer Beanstandung: sie eröffnet das Widerrufsverfahren, und dieser Text steht im "
            "Anhörungsschreiben."
        ),
    )
    photos = MultipleFileField(
        label=_("Fotos"),
        required=False,
        help_text=_("JPEG, PNG oder PDF, mehrere möglich."),
        widget=MultipleFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"}),
    )
