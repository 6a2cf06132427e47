"""Bank data: IBANs checked against the register of bank codes (schwifty), the bank shown, the IBAN masked in letters
and shown in full only to those who pay and check the payment."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from applicants.models import iban_of_a_known_bank, masked_iban
from grants.letters import letter_html
from grants.models import LetterKind

from ..factories import ApplicantFactory

pytestmark = pytest.mark.django_db


def german_iban(bank_code: str, account: str) -> str:
    """A German IBAN with the right check digits (ISO 13616: 98 − (BBAN + "DE00" as digits) mod 97)."""
    bban = bank_code + account.zfill(10)
    digits = int(bban + "1314" + "00")  # D = 13, E = 14
    return f"DE{98 - digits % 97:02d}{bban}"


def test_a_german_iban_with_right_check_digits_but_an_unknown_bank_code_is_refused():
    known = german_iban("37040044", "532013000")
    assert known == "DE89370400440532013000"  # the computation above agrees with a published example
    unknown = german_iban("99999999", "532013000")
    with pytest.raises(ValidationError) as refused:
        iban_of_a_known_bank(unknown)
    assert "99999999" in str(refused.value)
    applicant = ApplicantFactory.build(iban=unknown, user=None)
    with pytest.raises(ValidationError) as refused:
        applicant.full_clean()
    assert "iban" in refused.value.message_dict


def test_the_bank_and_its_bic_are_derived_from_a_german_iban():
    applicant = ApplicantFactory.build(iban="DE89370400440532013000", user=None)
    assert applicant.bank == {"name": "Commerzbank", "bic": "COBADEFFXXX"}
    assert ApplicantFactory.build(iban="", user=None).bank == {}


def test_a_masked_iban_shows_its_last_four_characters_only():
    assert masked_iban("DE89370400440532013000") == "DE•• •••• •••• •••• •• 3000"
    assert masked_iban("DE89 3704 0044 0532 0130 00").endswith("3000")
    assert masked_iban("") == ""


def test_the_payment_letter_shows_the_iban_masked(case):
    application = case("paid")
    _subject, html = letter_html(application, LetterKind.PAYMENT)
    assert "•• 3000" in html and "DE89370400440532013000" not in html and "0532 0130" not in html


@pytest.mark.parametrize(("role", "full"), [("finance", True), ("caseworker", True), ("approver", False),
                                            ("auditor", False)])  # fmt: skip
def test_the_full_iban_is_shown_to_finance_and_the_caseworker_only(role, full, case, people):
    application = case("approved")
    client = Client()
    client.force_login(getattr(people, role))
    page = client.get(reverse("workspace:application", args=[application.pk])).content.decode()
    assert ("DE89370400440532013000" in page) is full
    assert "•• 3000" in page or full
    assert "Commerzbank" in page
