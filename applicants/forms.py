from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.text import TextFormField, max_length_of

from .models import Applicant, Consultation, Property, postcode_validator


class ConsultationSearchForm(forms.Form):
    q = forms.CharField(label=_("Name oder Adresse"), required=False)


class ConsultationForm(forms.Form):
    """Erstberatung: who was advised, about which property, when and by whom, for which municipality."""

    municipality = forms.ModelChoiceField(label=_("Kommune"), queryset=None, empty_label=None)
    name = TextFormField(label=_("Name der beratenen Person"), max_length=max_length_of(Applicant, "name"))
    email = forms.EmailField(label=_("E-Mail"), required=False)
    phone = TextFormField(label=_("Telefon"), max_length=max_length_of(Applicant, "phone"), required=False)
    street = TextFormField(label=_("Straße des Grundstücks"), max_length=max_length_of(Property, "street"))
    house_number = TextFormField(label=_("Hausnummer"), max_length=max_length_of(Property, "house_number"))
    postcode = TextFormField(
        label=_("PLZ"), max_length=max_length_of(Property, "postcode"), validators=[postcode_validator]
    )
    city = TextFormField(label=_("Ort"), max_length=max_length_of(Property, "city"))
    held_on = forms.DateField(label=_("Datum der Beratung"), widget=forms.DateInput(attrs={"type": "date"}))
    adviser = TextFormField(label=_("Beratung durch"), max_length=max_length_of(Consultation, "adviser"))
    topics = TextFormField(label=_("Themen"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    outcome = TextFormField(label=_("Ergebnis"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, municipalities, **kwargs):
        super().__init__(*args, **kwargs)
        # A consultancy advises for several towns; each consultation belongs to the one it was held for.
        self.fields["municipality"].queryset = municipalities
        self.only_municipality = municipalities[0] if len(municipalities) == 1 else None
        if self.only_municipality:
            self.fields["municipality"].widget = forms.HiddenInput()
            self.fields["municipality"].required = False

    def clean_municipality(self):
        return self.cleaned_data["municipality"] or self.only_municipality

    def clean_held_on(self):
        held_on = self.cleaned_data["held_on"]
        if held_on > timezone.localdate():
            raise forms.ValidationError(_("Eine Erstberatung kann nicht in der Zukunft liegen."))
        return held_on


class OneTimeCodeForm(forms.Form):
    """The six digits an authenticator app shows (second factor); checked by applicants.services."""

    code = forms.CharField(
        label=_("Sechsstelliger Code"),
        max_length=20,
        help_text=_(
            "Die Ziffern, die Ihre Authenticator-App für Förderdesk gerade anzeigt; sie wechseln alle 30 Sekunden."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}),
        error_messages={"required": _("Bitte geben Sie den Code aus Ihrer Authenticator-App ein.")},
    )
