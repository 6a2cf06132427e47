from datetime import date

import pytest

from applicants.rules import visible_applicants, visible_properties
from applicants.services import AddressInput, PersonInput, consultation_record
from core.models import Municipality

pytestmark = pytest.mark.django_db

HAUPTSTRASSE_12 = AddressInput("Hauptstraße", "12", "12345", "Musterstadt")


def record(by, municipality, *, name, email):
    return consultation_record(
        municipality=municipality,
        by=by,
        person=PersonInput(name=name, email=email),
        property_address=HAUPTSTRASSE_12,
        held_on=date(2026, 3, 2),
        adviser="Vor-Ort-Büro",
    )


def test_recording_a_consultation_elsewhere_never_reveals_an_existing_owner(people, programme, allocation):
    from ..factories import make_application

    make_application(programme=programme, applicant=people.alice)  # Alice's case at Hauptstraße 12, Musterstadt
    nachbarstadt = Municipality.objects.get(name="Nachbarstadt")

    consultation = record(people.foreign_caseworker, nachbarstadt, name=people.alice.name, email=people.owner.email)

    assert consultation.applicant != people.alice
    assert people.alice not in visible_applicants(people.foreign_caseworker)
    assert not visible_properties(people.foreign_caseworker).filter(applications__applicant=people.alice).exists()


def test_the_same_municipality_keeps_one_record_for_a_person_it_advised_twice(people, musterstadt):
    first = record(people.caseworker, musterstadt, name="Gerda Giebel", email="gerda@example.org")
    second = record(people.caseworker, musterstadt, name="gerda giebel", email="GERDA@example.org")
    assert first.applicant == second.applicant and first.property == second.property
