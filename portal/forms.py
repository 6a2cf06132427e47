"""Forms of the owner portal: HTTP input only; every rule lives in the services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from localflavor.generic.forms import IBANFormField

from applicants.models import Applicant, Property, nace_validator, postcode_validator
from applicants.services import ApplicantInput, PropertyInput
from core.money import CENT, format_amount
from core.text import TextFormField, max_length_of
from grants.calculator import BuildingCategory
from grants.deminimis import AidInput
from grants.forms import AmountField, DayField, MultipleFileField, MultipleFileInput
from grants.models import (
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    DeminimisRegulation,
    Document,
    Invoice,
    MeasureComponent,
    MeasureKind,
)
from grants.services import ComponentInput, CostInput, InvoiceInput


class AreaField(AmountField):
    """An area in m² as Germans write it ("180,5"); zero is no area."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("min_value", CENT)
        kwargs.setdefault("error_messages", {"min_value": _("Die Fläche muss größer als 0 m² sein.")})
        super().__init__(**kwargs)


class ApplicantForm(forms.Form):
    kind = forms.ChoiceField(label=_("Sie beantragen als"), choices=Applicant.Kind.choices)
    standing = forms.ChoiceField(label=_("Ihr Verhältnis zum Grundstück"), choices=Applicant.Standing.choices)
    name = TextFormField(
        label=_("Vor- und Nachname"),
        max_length=max_length_of(Applicant, "name"),
        widget=forms.TextInput({"autocomplete": "name"}),
    )
    organisation = TextFormField(
        label=_("Name der Organisation oder des Unternehmens"),
        max_length=max_length_of(Applicant, "organisation"),
        required=False,
        help_text=_("nur bei Organisationen und Unternehmen"),
        widget=forms.TextInput({"autocomplete": "organization"}),
    )
    street = TextFormField(
        label=_("Straße"),
        max_length=max_length_of(Applicant, "street"),
        widget=forms.TextInput({"autocomplete": "address-line1"}),
    )
    house_number = TextFormField(label=_("Hausnummer"), max_length=max_length_of(Applicant, "house_number"))
    postcode = TextFormField(
        label=_("PLZ"),
        max_length=max_length_of(Applicant, "postcode"),
        validators=[postcode_validator],
        widget=forms.TextInput({"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    city = TextFormField(
        label=_("Ort"),
        max_length=max_length_of(Applicant, "city"),
        widget=forms.TextInput({"autocomplete": "address-level2"}),
    )
    email = forms.EmailField(label=_("E-Mail"), required=False, widget=forms.EmailInput({"autocomplete": "email"}))
    phone = TextFormField(
        label=_("Telefon"),
        max_length=max_length_of(Applicant, "phone"),
        required=False,
        widget=forms.TextInput({"autocomplete": "tel"}),
    )
    iban = IBANFormField(
        label=_("IBAN für die Auszahlung"),
        help_text=_("z. B. DE89 3704 0044 0532 0130 00"),
        error_messages={"invalid": _("Bitte prüfen Sie die IBAN; sie ist so nicht gültig.")},
    )
    may_deduct_input_vat = forms.BooleanField(
        label=_("Ich bin zum Vorsteuerabzug berechtigt"),
        required=False,
        help_text=_("Dann wird die Förderung aus den Nettokosten berechnet, sonst aus den Bruttokosten."),
    )
    # For de-minimis aid to undertakings: what the register needs (grants.deminimis).
    tax_number = TextFormField(
        label=_("Steuernummer oder USt-IdNr."),
        max_length=max_length_of(Applicant, "tax_number"),
        required=False,
        help_text=_("nur bei Unternehmen, z. B. DE123456789"),
    )
    register_number = TextFormField(
        label=_("Registernummer"),
        max_length=max_length_of(Applicant, "register_number"),
        required=False,
        help_text=_("nur bei Unternehmen im Handelsregister, z. B. HRB 1234"),
    )
    register_court = TextFormField(
        label=_("Registergericht"),
        max_length=max_length_of(Applicant, "register_court"),
        required=False,
        help_text=_("z. B. Amtsgericht Köln"),
    )
    nace_code = TextFormField(
        label=_("Wirtschaftszweig (NACE)"),
        max_length=max_length_of(Applicant, "nace_code"),
        required=False,
        validators=[nace_validator],
        help_text=_("nur bei Unternehmen, z. B. 47.11 für Einzelhandel"),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Applicant.Kind.ORGANISATION and not cleaned.get("organisation", "").strip():
            self.add_error("organisation", _("Bitte geben Sie den Namen der Organisation an."))
        return cleaned

    def data_input(self) -> ApplicantInput:
        return ApplicantInput(**self.cleaned_data)

    @staticmethod
    def initial_from(applicant: Applicant | None) -> dict:
        if applicant is None:
            return {}
        return {name: getattr(applicant, name) for name in ApplicantForm.base_fields}


class PropertyForm(forms.Form):
    street = TextFormField(label=_("Straße"), max_length=max_length_of(Property, "street"))
    house_number = TextFormField(label=_("Hausnummer"), max_length=max_length_of(Property, "house_number"))
    postcode = TextFormField(
        label=_("PLZ"),
        max_length=max_length_of(Property, "postcode"),
        validators=[postcode_validator],
        widget=forms.TextInput({"inputmode": "numeric"}),
    )
    city = TextFormField(label=_("Ort"), max_length=max_length_of(Property, "city"))
    cadastral_district = TextFormField(
        label=_("Gemarkung"), max_length=max_length_of(Property, "cadastral_district"), required=False
    )
    cadastral_sheet = TextFormField(
        label=_("Flur"), max_length=max_length_of(Property, "cadastral_sheet"), required=False
    )
    parcel = TextFormField(
        label=_("Flurstück"), max_length=max_length_of(Property, "parcel"), required=False, help_text=_("z. B. 117/2")
    )
    building = TextFormField(
        label=_("Gebäude"),
        max_length=max_length_of(Property, "building"),
        required=False,
        help_text=_("z. B. Vorderhaus"),
    )

    def data_input(self) -> PropertyInput:
        return PropertyInput(**self.cleaned_data)

    @staticmethod
    def initial_from(prop) -> dict:
        return {name: getattr(prop, name) for name in PropertyForm.base_fields} if prop else {}


class MeasuresForm(forms.Form):
    """One block of fields per kind of measure the programme funds; a block left empty is no measure."""

    description = TextFormField(
        label=_("Was soll gemacht werden?"),
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    works_started_on = forms.DateField(
        label=_("Mit den Arbeiten begonnen am"),
        required=False,
        help_text=_(
            "Nur ausfüllen, wenn Sie schon begonnen oder einen Auftrag erteilt haben. "
            "Ein Beginn vor der Bewilligung schließt die Förderung in der Regel aus."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, kinds=(), graded=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = list(kinds)
        self.graded = set(graded)  # kinds whose per-m² caps the programme grades by building category
        for kind in self.kinds:
            label = MeasureKind(kind).label
            if kind in self.graded:
                self.fields[f"{kind}-category"] = forms.ChoiceField(
                    label=_("%(kind)s: Gebäudekategorie") % {"kind": label},
                    choices=BuildingCategory.choices,
                    initial=BuildingCategory.STANDARD,
                    help_text=_(
                        "Die Richtlinie fördert besondere Gebäude höher; die Kommune prüft die Angabe bei der "
                        "Antragsprüfung."
                    ),
                )
            self.fields[f"{kind}-area"] = AreaField(label=_("%(kind)s: Fläche in m²") % {"kind": label}, required=False)
            self.fields[f"{kind}-net"] = AmountField(
                label=_("%(kind)s: Kosten netto in €") % {"kind": label}, required=False
            )
            self.fields[f"{kind}-vat"] = AmountField(
                label=_("%(kind)s: Umsatzsteuer in €") % {"kind": label},
                required=False,
                help_text=_("z. B. 19 % des Nettobetrags"),
            )
            self.fields[f"{kind}-ancillary"] = AmountField(
                label=_("%(kind)s: davon Planung und Bauleitung (netto) in €") % {"kind": label},
                required=False,
                help_text=_("Planungskosten werden nur bis zu dem Anteil gefördert, den die Richtlinie erlaubt."),
            )
            self.fields[f"{kind}-note"] = TextFormField(
                label=_("%(kind)s: Kurzbeschreibung") % {"kind": label},
                max_length=max_length_of(MeasureComponent, "description"),
                required=False,
            )

    def blocks(self):
        """The fields grouped per measure, for the template: (label, [bound fields])."""
        return [
            (
                MeasureKind(kind).label,
                [
                    self[f"{kind}-{part}"]
                    for part in ("category", "area", "net", "vat", "ancillary", "note")
                    if f"{kind}-{part}" in self.fields
                ],
            )
            for kind in self.kinds
        ]

    def clean(self):
        cleaned = super().clean()
        entered = 0
        for kind in self.kinds:
            area, net = cleaned.get(f"{kind}-area"), cleaned.get(f"{kind}-net")
            vat = cleaned.get(f"{kind}-vat") or Decimal("0")
            ancillary = cleaned.get(f"{kind}-ancillary") or Decimal("0")
            if f"{kind}-area" in self.errors or f"{kind}-net" in self.errors:
                entered += 1
                continue
            if area is None and not net and not cleaned.get(f"{kind}-vat") and not ancillary:
                continue
            entered += 1
            if area is None:
                self.add_error(f"{kind}-area", _("Bitte geben Sie die Fläche an."))
            if not net:
                self.add_error(f"{kind}-net", _("Bitte geben Sie die Kosten an."))
            elif vat > net:
                self.add_error(f"{kind}-vat", _("Die Umsatzsteuer kann nicht höher sein als der Nettobetrag."))
            elif ancillary > net:
                self.add_error(f"{kind}-ancillary", _("Die Planungskosten sind ein Teil der Nettokosten."))
        if not entered:
            raise forms.ValidationError(_("Bitte geben Sie mindestens eine Maßnahme mit Fläche und Kosten an."))
        return cleaned

    def components(self) -> list[ComponentInput]:
        """The entered measures: construction and planning as separate cost lines, VAT split pro rata."""
        result = []
        for kind in self.kinds:
            net = self.cleaned_data.get(f"{kind}-net")
            if not net:
                continue
            vat = self.cleaned_data.get(f"{kind}-vat") or Decimal("0")
            ancillary = self.cleaned_data.get(f"{kind}-ancillary") or Decimal("0")
            ancillary_vat = (vat * ancillary / net).quantize(CENT)
            costs = [CostInput(str(_("Bauleistung laut Angebot")), net - ancillary, vat - ancillary_vat)]
            if ancillary:
                costs.append(CostInput(str(_("Planung und Bauleitung")), ancillary, ancillary_vat, ancillary=True))
            result.append(
                ComponentInput(
                    kind=kind,
                    area_m2=self.cleaned_data[f"{kind}-area"],
                    costs=tuple(costs),
                    description=self.cleaned_data.get(f"{kind}-note", ""),
                    category=self.cleaned_data.get(f"{kind}-category") or BuildingCategory.STANDARD,
                )
            )
        return result

    @staticmethod
    def initial_from(application) -> dict:
        """The saved measures as the form shows them: amounts in the page's number format ("35.294,12")."""

        def shown(amount: Decimal) -> str:
            return format_amount(amount)

        initial = {"description": application.description, "works_started_on": application.works_started_on}
        for component in application.components.all():
            quotes = [i for i in component.cost_items.all() if i.stage == "quote"]
            net = sum((i.net_amount for i in quotes), Decimal("0"))
            ancillary = sum((i.net_amount for i in quotes if i.ancillary), Decimal("0"))
            initial[f"{component.kind}-area"] = number_format(component.area_m2.normalize(), use_l10n=True)
            initial[f"{component.kind}-net"] = shown(net)
            initial[f"{component.kind}-vat"] = shown(sum((i.vat_amount for i in quotes), Decimal("0")))
            initial[f"{component.kind}-ancillary"] = shown(ancillary) if ancillary else ""
            initial[f"{component.kind}-note"] = component.description
            initial[f"{component.kind}-category"] = component.category
        return initial


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Art der Unterlage"))
    files = MultipleFileField(
        label=_("Dateien"),
        help_text=_(
            "PDF, JPEG oder PNG; Schlussrechnungen auch als E-Rechnung (ZUGFeRD, Factur-X oder XRechnung als XML); "
            "mehrere Dateien auf einmal möglich."
        ),
        error_messages={"required": _("Bitte wählen Sie mindestens eine Datei aus.")},
    )

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, Document.Kind(k).label) for k in kinds]


class SubmitForm(forms.Form):
    comment = TextFormField(
        label=_("Ihre Nachricht an die Verwaltung"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        help_text=_("z. B. Ihre Antwort auf eine Nachfrage"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("Ich versichere, dass meine Angaben richtig und vollständig sind."),
        error_messages={"required": _("Bitte bestätigen Sie Ihre Angaben.")},
    )


class WithdrawForm(forms.Form):
    comment = TextFormField(
        label=_("Grund (freiwillig)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("Ja, ich ziehe den Antrag zurück."),
        error_messages={"required": _("Bitte bestätigen Sie, dass Sie den Antrag zurückziehen möchten.")},
    )


class ExtensionForm(forms.Form):
    """Fristverlängerung: the new deadlines (prefilled with the current ones) and the reasons."""

    completion_deadline = forms.DateField(
        label=_("Neue Frist für den Abschluss der Maßnahme"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Bitte geben Sie die neue Frist für den Abschluss der Maßnahme an.")},
    )
    invoice_deadline = forms.DateField(
        label=_("Neue Frist für die Schlussrechnungen"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Bitte geben Sie die neue Frist für die Schlussrechnungen an.")},
    )
    reason = TextFormField(
        label=_("Begründung"),
        help_text=_("Warum reicht die bisherige Frist nicht, z. B. Lieferzeiten, Witterung, Handwerker?"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Bitte begründen Sie, warum Sie mehr Zeit brauchen.")},
    )

    def clean(self):
        data = super().clean()
        completion, invoices = data.get("completion_deadline"), data.get("invoice_deadline")
        if completion and invoices and invoices < completion:
            self.add_error(
                "invoice_deadline",
                _("Die Schlussrechnungen können erst nach dem Abschluss der Maßnahme fällig sein."),
            )
        return data


class ChangeForm(MeasuresForm):
    """Änderungsantrag: the measures as they are to be (prefilled with the approved ones), deadlines, reasons, files."""

    completion_deadline = forms.DateField(
        label=_("Frist für den Abschluss der Maßnahme"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Bitte geben Sie die Frist für den Abschluss der Maßnahme an.")},
    )
    invoice_deadline = forms.DateField(
        label=_("Frist für die Schlussrechnungen"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Bitte geben Sie die Frist für die Schlussrechnungen an.")},
    )
    reason = TextFormField(
        label=_("Begründung"),
        help_text=_("Was ändert sich und warum, z. B. ein Schaden, der erst beim Gerüstbau sichtbar wurde?"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Bitte begründen Sie, warum sich die Maßnahme ändern soll.")},
    )
    files = MultipleFileField(
        label=_("Unterlagen zur Änderung"),
        required=False,
        help_text=_("z. B. das neue Angebot oder Fotos des Schadens: PDF, JPEG oder PNG, mehrere Dateien möglich."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["description"], self.fields["works_started_on"]

    def clean(self):
        data = super().clean()
        completion, invoices = data.get("completion_deadline"), data.get("invoice_deadline")
        if completion and invoices and invoices < completion:
            self.add_error(
                "invoice_deadline",
                _("Die Schlussrechnungen können erst nach dem Abschluss der Maßnahme fällig sein."),
            )
        return data

    @staticmethod
    def initial_from(application) -> dict:
        return {
            **MeasuresForm.initial_from(application),
            "completion_deadline": application.completion_deadline,
            "invoice_deadline": application.invoice_deadline,
        }


class InvoiceForm(forms.Form):
    """One invoice handed in: what the invoice says, what it covers, and when it was paid."""

    number = TextFormField(label=_("Rechnungsnummer"), max_length=max_length_of(Invoice, "number"))
    issued_on = forms.DateField(
        label=_("Rechnungsdatum"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    supplier = TextFormField(
        label=_("Rechnungssteller/in"), max_length=max_length_of(Invoice, "supplier"), help_text=_("die Firma")
    )
    measure = forms.ChoiceField(label=_("Für welche Maßnahme?"))
    description = TextFormField(
        label=_("Was wird abgerechnet?"),
        max_length=max_length_of(Invoice, "description"),
        help_text=_("z. B. Anstrich der Straßenseite, Gerüst"),
    )
    ancillary = forms.BooleanField(
        label=_("Die Rechnung betrifft Planung oder Bauleitung (Architekt/in)"), required=False
    )
    net_amount = AmountField(label=_("Nettobetrag in €"))
    vat_amount = AmountField(label=_("Umsatzsteuer in €"), required=False)
    paid_on = forms.DateField(
        label=_("Bezahlt am"),
        required=False,
        help_text=_("leer lassen, wenn noch nicht bezahlt"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    payment_proof = forms.FileField(
        label=_("Zahlungsnachweis"),
        required=False,
        help_text=_("z. B. Kontoauszug oder Überweisungsbeleg: PDF, JPEG oder PNG"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args, measures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = list(measures)

    def clean(self):
        data = super().clean()
        net, vat = data.get("net_amount"), data.get("vat_amount") or Decimal("0")
        if net is not None and vat > net:
            self.add_error("vat_amount", _("Die Umsatzsteuer kann nicht höher sein als der Nettobetrag."))
        return data

    def invoice_input(self) -> InvoiceInput:
        data = self.cleaned_data
        return InvoiceInput(
            number=data["number"],
            issued_on=data["issued_on"],
            supplier=data["supplier"],
            measure=data["measure"],
            description=data["description"],
            ancillary=data["ancillary"],
            net_amount=data["net_amount"],
            vat_amount=data.get("vat_amount") or Decimal("0.00"),
            paid_on=data.get("paid_on"),
        )

    @staticmethod
    def initial_from(prefill: dict, measures) -> dict:
        """An e-invoice's data as the form shows them (amounts in the page's number format)."""
        initial = {k: v for k, v in prefill.items() if k in ("number", "issued_on", "supplier", "description")}
        for name in ("net_amount", "vat_amount"):
            if prefill.get(name) is not None:
                initial[name] = format_amount(prefill[name])
        if len(measures) == 1:
            initial["measure"] = measures[0][0]
        return initial


class ProofForm(forms.Form):
    """Verwendungsnachweis: the day the works were finished, the factual report, and the invoices and after-photos."""

    completed_on = forms.DateField(
        label=_("Abschluss der Arbeiten am"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Bitte geben Sie an, an welchem Tag die Arbeiten abgeschlossen wurden.")},
    )
    report = TextFormField(
        label=_("Sachbericht"),
        help_text=_(
            "Was wurde ausgeführt? Zum Beispiel: welche Flächen, welche Arbeiten, welcher Betrieb, und was anders "
            "als im Angebot ausgeführt wurde."
        ),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Bitte beschreiben Sie im Sachbericht, welche Arbeiten ausgeführt wurden.")},
    )
    invoices = MultipleFileField(
        label=_("Schlussrechnungen"),
        required=False,
        help_text=_(
            "PDF, JPEG oder PNG, auch als E-Rechnung (ZUGFeRD, Factur-X oder XRechnung als XML); mehrere Dateien "
            "möglich. Bereits hochgeladene Rechnungen zählen mit."
        ),
    )
    photos = MultipleFileField(
        label=_("Fotos nach der Maßnahme"),
        required=False,
        help_text=_("JPEG, PNG oder PDF; mehrere Dateien möglich. Bereits hochgeladene Fotos zählen mit."),
        widget=MultipleFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"}),
    )

    @staticmethod
    def initial_from(proof) -> dict:
        """A proof given back for completion: its day and report to start from."""
        return {"completed_on": proof.completed_on, "report": proof.report} if proof is not None else {}


class AddressCheckForm(forms.Form):
    street = TextFormField(label=_("Straße"), max_length=max_length_of(Property, "street"))
    house_number = TextFormField(label=_("Hausnummer"), max_length=max_length_of(Property, "house_number"))


class WaiverForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Ja, ich verzichte auf Widerspruch und Klage gegen diesen Bescheid."),
        error_messages={"required": _("Bitte bestätigen Sie, dass Sie auf Rechtsbehelfe verzichten möchten.")},
    )


class HearingAnswerForm(forms.Form):
    """The owner's answer in the hearing before a revocation (§ 28 VwVfG)."""

    answer = TextFormField(
        label=_("Ihre Äußerung"),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Was gegen den beabsichtigten Widerruf spricht: Tatsachen, Gründe, was Sie inzwischen getan haben."
        ),
        error_messages={"required": _("Bitte schreiben Sie Ihre Äußerung.")},
    )


class SaleReportForm(forms.Form):
    """The owner's report of a sale or change of use in the commitment period."""

    sold_on = DayField(
        label=_("veräußert oder umgenutzt am"),
        error_messages={"required": _("Bitte geben Sie den Tag der Veräußerung oder Umnutzung an.")},
    )
    buyer = forms.CharField(
        label=_("Erwerber/in oder neue Nutzung"),
        max_length=200,
        help_text=_("Name der Erwerber/in, oder wie das Gebäude jetzt genutzt wird."),
        error_messages={"required": _("Bitte nennen Sie die Erwerber/in oder die neue Nutzung.")},
    )
    buyer_continues = forms.BooleanField(
        label=_("Die Erwerber/in übernimmt die Zweckbindung"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )
    notes = TextFormField(
        label=_("Erläuterung"),
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


# The declaration's rows on one page: enough for the aid of three years; more are rare (then ask the office).
DECLARATION_ROWS = 6


class DeminimisDeclarationForm(forms.Form):
    """De-minimis-Erklärung: "none received", or the aid of the last three years in rows (the empty ones ignored)."""

    received = forms.TypedChoiceField(
        label=_("Hat Ihr Unternehmen mit den verbundenen in den letzten drei Jahren De-minimis-Beihilfen erhalten?"),
        choices=[("no", _("Nein, keine De-minimis-Beihilfen")), ("yes", _("Ja, die folgenden"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Bitte wählen Sie, ob Sie De-minimis-Beihilfen erhalten haben.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, DECLARATION_ROWS + 1):
            self.fields[f"granted_on_{row}"] = DayField(
                label=_("Beihilfe %(row)s: Tag der Gewährung") % {"row": row}, required=False
            )
            self.fields[f"granting_body_{row}"] = TextFormField(
                label=_("Beihilfe %(row)s: Beihilfegeber") % {"row": row}, max_length=200, required=False
            )
            self.fields[f"amount_{row}"] = AmountField(
                label=_("Beihilfe %(row)s: Betrag in Euro") % {"row": row}, required=False, min_value=CENT
            )
            self.fields[f"regulation_{row}"] = forms.ChoiceField(
                label=_("Beihilfe %(row)s: nach Verordnung") % {"row": row},
                choices=DeminimisRegulation.choices,
                initial=DeminimisRegulation.GENERAL,
                required=False,
            )

    def rows(self):
        """The row fields, four per row, for the template."""
        return [
            [self[f"{name}_{row}"] for name in ("granted_on", "granting_body", "amount", "regulation")]
            for row in range(1, DECLARATION_ROWS + 1)
        ]

    def clean(self):
        data = super().clean()
        for row in range(1, DECLARATION_ROWS + 1):
            values = [data.get(f"{name}_{row}") for name in ("granted_on", "granting_body", "amount")]
            if any(values) and not all(values):
                self.add_error(
                    f"granted_on_{row}"
                    if not values[0]
                    else f"granting_body_{row}"
                    if not values[1]
                    else f"amount_{row}",
                    _("Bitte geben Sie zu jeder Beihilfe Tag, Beihilfegeber und Betrag an."),
                )
        return data

    def aids(self) -> list[AidInput]:
        # Rows typed with "none" chosen are passed on, and refused by the service: nothing typed is silently dropped.
        data = self.cleaned_data
        return [
            AidInput(
                data[f"granted_on_{row}"],
                data[f"granting_body_{row}"],
                data[f"amount_{row}"],
                data.get(f"regulation_{row}") or DeminimisRegulation.GENERAL,
            )
            for row in range(1, DECLARATION_ROWS + 1)
            if data.get(f"granted_on_{row}") and data.get(f"amount_{row}")
        ]

    @classmethod
    def initial_from(cls, declaration) -> dict:
        if declaration is None:
            return {}
        initial: dict = {"received": "no" if declaration.none_received else "yes"}
        for row, aid in enumerate(declaration.aids.all()[:DECLARATION_ROWS], start=1):
            initial |= {
                f"granted_on_{row}": aid.granted_on,
                f"granting_body_{row}": aid.granting_body,
                f"amount_{row}": aid.amount,
                f"regulation_{row}": aid.regulation,
            }
        return initial
