import pytest
from django.core.exceptions import ValidationError

from grants.models import FundingAreaStreet

from ..factories import ApplicantFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("iban", ["DE89370400440532013001", "DE8937040044053201300", "XX00"])
def test_a_wrong_iban_is_refused(iban):
    applicant = ApplicantFactory.build(iban=iban, user=None)
    with pytest.raises(ValidationError) as error:
        applicant.full_clean()
    assert "iban" in error.value.message_dict


def test_a_valid_iban_passes():
    ApplicantFactory.build(iban="DE89370400440532013000", user=None).full_clean()


def test_a_postcode_has_five_digits():
    with pytest.raises(ValidationError) as error:
        ApplicantFactory.build(postcode="1234", user=None).full_clean()
    assert "postcode" in error.value.message_dict


@pytest.mark.parametrize(
    ("street", "number", "covered"),
    [
        ("Kirchgasse", "8", True),
        ("Kirchgasse", "8a", True),
        ("kirchgasse", "40", True),
        ("Kirchgasse", "9", False),
        ("Kirchgasse", "42", False),
        ("Kirchweg", "8", False),
    ],
)
def test_a_street_range_covers_its_even_house_numbers(street, number, covered):
    area = FundingAreaStreet(street="Kirchgasse", number_from=2, number_to=40, parity=FundingAreaStreet.Parity.EVEN)
    assert area.covers(street, number) is covered


@pytest.mark.parametrize("spelling", ["Hauptstraße", "Hauptstrasse", "Hauptstr.", "hauptstr"])
def test_the_usual_spellings_of_strasse_match(spelling):
    assert FundingAreaStreet(street="Hauptstraße").covers(spelling, "1")
