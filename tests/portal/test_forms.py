"""Every portal form's validation: amounts as Germans write them, required fields, IBAN, areas."""

from decimal import Decimal

import pytest

from portal.forms import (
    AddressCheckForm,
    ApplicantForm,
    MeasuresForm,
    PropertyForm,
    SubmitForm,
    UploadForm,
    WithdrawForm,
)

APPLICANT = {
    "kind": "person",
    "standing": "owner",
    "name": "Alice Amsel",
    "street": "Hauptstraße",
    "house_number": "12",
    "postcode": "12345",
    "city": "Musterstadt",
    "iban": "DE89 3704 0044 0532 0130 00",
}


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("12.345,67", "12345.67"),
        ("12345,67", "12345.67"),
        ("12.345", "12345"),
        ("12345.67", "12345.67"),
        ("1.000.000,00 €", "1000000.00"),
        ("12,345.67", "12345.67"),
    ],
)
def test_amounts_are_read_as_germans_write_them(typed, amount):
    form = MeasuresForm({"facade-area": "180", "facade-net": typed}, kinds=["facade"])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["facade-net"] == Decimal(amount)


def test_an_amount_that_is_no_number_is_refused():
    form = MeasuresForm({"facade-area": "180", "facade-net": "zwölftausend"}, kinds=["facade"])
    assert not form.is_valid()
    assert "facade-net" in form.errors


def test_the_measures_give_construction_and_planning_costs_with_vat_split():
    form = MeasuresForm(
        {"facade-area": "180,5", "facade-net": "10.000,00", "facade-vat": "1.900,00", "facade-ancillary": "1.000,00"},
        kinds=["facade"],
    )
    assert form.is_valid(), form.errors
    (component,) = form.components()
    assert component.area_m2 == Decimal("180.5")
    construction, planning = component.costs
    assert (construction.net_amount, construction.vat_amount) == (Decimal("9000.00"), Decimal("1710.00"))
    assert (planning.net_amount, planning.vat_amount, planning.ancillary) == (
        Decimal("1000.00"),
        Decimal("190.00"),
        True,
    )


def test_an_area_of_zero_is_refused():
    form = MeasuresForm({"facade-area": "0", "facade-net": "1.000,00"}, kinds=["facade"])
    assert not form.is_valid()
    assert form.errors["facade-area"] == ["Die Fläche muss größer als 0 m² sein."]


def test_costs_without_an_area_and_an_area_without_costs_are_refused():
    form = MeasuresForm({"facade-net": "1.000,00", "courtyard-area": "20"}, kinds=["facade", "courtyard"])
    assert not form.is_valid()
    assert form.errors["facade-area"] == ["Bitte geben Sie die Fläche an."]
    assert form.errors["courtyard-net"] == ["Bitte geben Sie die Kosten an."]


def test_at_least_one_measure_is_needed_and_vat_cannot_exceed_the_net_amount():
    assert MeasuresForm({}, kinds=["facade"]).errors["__all__"] == [
        "Bitte geben Sie mindestens eine Maßnahme mit Fläche und Kosten an."
    ]
    form = MeasuresForm({"facade-area": "10", "facade-net": "100", "facade-vat": "101"}, kinds=["facade"])
    assert form.errors["facade-vat"] == ["Die Umsatzsteuer kann nicht höher sein als der Nettobetrag."]


def test_the_applicant_form_takes_a_valid_iban_with_spaces():
    form = ApplicantForm(APPLICANT)
    assert form.is_valid(), form.errors
    assert form.data_input().iban == "DE89370400440532013000"


def test_a_bad_iban_is_refused():
    form = ApplicantForm({**APPLICANT, "iban": "DE89 3704 0044 0532 0130 01"})
    assert not form.is_valid()
    assert form.errors["iban"] == ["Bitte prüfen Sie die IBAN; sie ist so nicht gültig."]


@pytest.mark.parametrize("field", ["name", "street", "house_number", "postcode", "city", "iban"])
def test_the_applicant_form_requires(field):
    form = ApplicantForm({**APPLICANT, field: ""})
    assert not form.is_valid()
    assert field in form.errors


def test_a_postcode_has_five_digits_and_an_organisation_its_name():
    form = ApplicantForm({**APPLICANT, "postcode": "1234", "kind": "organisation"})
    assert not form.is_valid()
    assert form.errors["postcode"] == ["Bitte eine fünfstellige Postleitzahl angeben."]
    assert form.errors["organisation"] == ["Bitte geben Sie den Namen der Organisation an."]


def test_the_property_form_requires_the_address_only():
    assert PropertyForm({"street": "Hauptstraße", "house_number": "12", "postcode": "12345", "city": "M"}).is_valid()
    assert set(PropertyForm({}).errors) == {"street", "house_number", "postcode", "city"}


def test_confirmations_are_required():
    assert SubmitForm({}).errors["confirm"] == ["Bitte bestätigen Sie Ihre Angaben."]
    assert "confirm" in WithdrawForm({"comment": "Doch nicht"}).errors
    assert WithdrawForm({"confirm": "on"}).is_valid()


def test_the_upload_form_offers_only_the_kinds_allowed_now_and_needs_a_file():
    form = UploadForm({"kind": "invoice"}, {}, kinds=["quote"])
    assert not form.is_valid()
    assert "kind" in form.errors and form.errors["files"] == ["Bitte wählen Sie mindestens eine Datei aus."]


def test_the_address_check_needs_street_and_number():
    assert set(AddressCheckForm({}).errors) == {"street", "house_number"}
