"""Applying step by step: the draft is saved at every step, the grant preview, submitting, following the case."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from applicants.models import Applicant
from grants import services
from grants.models import GrantApplication
from tests.factories import make_application

from .conftest import pdf_bytes

pytestmark = pytest.mark.django_db

APPLICANT = {
    "kind": "person",
    "standing": "owner",
    "name": "Alice Amsel",
    "street": "Gartenweg",
    "house_number": "3",
    "postcode": "12345",
    "city": "Musterstadt",
    "email": "alice@example.org",
    "iban": "DE89370400440532013000",
}
PROPERTY = {
    "street": "Hauptstraße",
    "house_number": "12",
    "postcode": "12345",
    "city": "Musterstadt",
    "parcel": "117/2",
}
MEASURES = {"facade-area": "180", "facade-net": "35.294,12", "facade-vat": "6.705,88"}


def test_an_owner_applies_step_by_step_and_submits(client, people, programme):
    client.force_login(people.other_owner)  # Bob, who has no applicant record of his own yet
    Applicant.objects.filter(user=people.other_owner).delete()

    response = client.post(reverse("portal:new", args=[programme.pk]), APPLICANT)
    applicant = Applicant.objects.get(user=people.other_owner)
    assert response.status_code == 302 and response["Location"].endswith(f"?antragsteller={applicant.pk}")

    response = client.post(
        reverse("portal:new_property", args=[programme.pk]), {**PROPERTY, "antragsteller": applicant.pk}
    )
    application = GrantApplication.objects.get(applicant__user=people.other_owner)
    assert response["Location"] == reverse("portal:step_measures", args=[application.pk])
    assert application.state == "draft" and application.property.parcel == "117/2"

    response = client.post(reverse("portal:step_measures", args=[application.pk]), {**MEASURES, "next": ""})
    assert response["Location"] == reverse("portal:step_documents", args=[application.pk])
    application.refresh_from_db()
    assert application.computed_grant == Decimal("7200.00")  # docs/domain.md: bound by the grant cap per m²

    response = client.post(
        reverse("portal:step_documents", args=[application.pk]),
        {"kind": "quote", "files": [SimpleUploadedFile("angebot.pdf", pdf_bytes())]},
    )
    assert response.status_code == 302
    assert application.documents.get().original_name == "angebot.pdf"

    review = client.get(reverse("portal:step_review", args=[application.pk]))
    html = review.content.decode()
    assert "7.200,00 €" in html and "Förderhöchstbetrag je m²" in html
    assert "Foto vor der Maßnahme" in html  # still missing, said before submitting

    assert client.post(reverse("portal:step_review", args=[application.pk]), {}).status_code == 400
    response = client.post(reverse("portal:step_review", args=[application.pk]), {"confirm": "on"}, follow=True)
    application.refresh_from_db()
    assert application.state == "submitted"
    html = response.content.decode()
    assert f"Ihr Aktenzeichen lautet {application.file_number}" in html
    assert "eingereicht" in html and "Wir prüfen Ihren Antrag" in html


def test_the_draft_is_saved_at_every_step_and_resumable(alice_client, people, draft):
    response = alice_client.post(
        reverse("portal:step_measures", args=[draft.pk]),
        {"facade-area": "30", "facade-net": "2.200,00", "later": ""},
    )
    assert response["Location"] == reverse("portal:applications")
    draft.refresh_from_db()
    assert draft.computed_grant == Decimal("1100.00")
    page = alice_client.get(reverse("portal:step_measures", args=[draft.pk])).content.decode()
    assert 'value="2.200,00"' in page and 'value="30"' in page  # shown again as Germans write it
    listing = alice_client.get(reverse("portal:applications")).content.decode()
    assert "Vervollständigen Sie Ihren Antrag" in listing


def test_the_preview_shows_the_grant_and_the_rule_that_bound_without_saving(alice_client, draft):
    url = reverse("portal:measures_preview", args=[draft.pk])
    html = alice_client.post(url, {"facade-area": "30", "facade-net": "1.900,00"}).content.decode()
    assert "0,00 €" in html and "Bagatellgrenze" in html
    html = alice_client.post(url, {"facade-area": "420", "facade-net": "35.294,12"}).content.decode()
    assert "15.000,00 €" in html and "Höchstbetrag je Grundstück" in html
    html = alice_client.post(url, {"facade-area": "0", "facade-net": "1"}).content.decode()
    assert "sobald Fläche und Kosten" in html
    draft.refresh_from_db()
    assert draft.computed_grant == Decimal("7200.00")  # the preview changed nothing


def test_input_vat_deduction_changes_the_grant_of_the_draft(alice_client, people, draft):
    data = {**APPLICANT, "may_deduct_input_vat": "on"}
    assert alice_client.post(reverse("portal:step_applicant", args=[draft.pk]), data).status_code == 302
    draft.refresh_from_db()
    assert draft.applicant.may_deduct_input_vat and draft.computed_grant == Decimal("7200.00")  # still the m² cap
    alice_client.post(
        reverse("portal:step_measures", args=[draft.pk]),
        {"facade-area": "420", **{k: v for k, v in MEASURES.items() if k != "facade-area"}},
    )
    draft.refresh_from_db()
    assert draft.computed_grant == Decimal("15000.00")


def test_a_submitted_applications_details_are_never_changed_by_a_later_draft(alice_client, people, programme, case):
    submitted = case("submitted")
    draft = make_application(programme=programme, applicant=people.alice, with_documents=False, with_consultation=False)
    alice_client.post(reverse("portal:step_applicant", args=[draft.pk]), {**APPLICANT, "name": "Alice Amsel-Neu"})
    draft.refresh_from_db()
    submitted.refresh_from_db()
    assert draft.applicant.name == "Alice Amsel-Neu"
    assert submitted.applicant.name == "Alice Amsel" and submitted.applicant_id != draft.applicant_id


def test_a_submitted_application_is_not_edited_step_by_step(alice_client, case):
    application = case("submitted")
    response = alice_client.post(reverse("portal:step_measures", args=[application.pk]), MEASURES)
    assert response["Location"] == reverse("portal:application", args=[application.pk])


def test_the_case_page_shows_state_next_step_history_letters_and_the_return_message(
    alice_client, people, case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # letters are made once the transition commits
        application = case("submitted")
        services.application_return_to_applicant(
            application_id=application.pk, by=people.caseworker, comment="Bitte das Foto der Fassade nachreichen."
        )
    html = alice_client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert "Die Verwaltung bittet Sie am" in html and "Bitte das Foto der Fassade nachreichen." in html
    assert "Entwurf" in html and "Bitte ergänzen Sie Ihren Antrag" in html
    assert "Eingangsbestätigung" in html and reverse("letter-download", args=[application.letters.first().pk]) in html
    assert "Zurück an Antragsteller/in" in html and "eingereicht" in html
    assert people.caseworker.username not in html


def test_after_approval_the_owner_hands_in_invoices_and_photos_and_can_withdraw(alice_client, case):
    application = case("approved")
    page = alice_client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert "Schlussrechnungen und Fotos einreichen" in page and "Antrag zurückziehen" in page
    response = alice_client.post(
        reverse("portal:final_documents", args=[application.pk]),
        {"kind": "invoice", "files": [SimpleUploadedFile("schlussrechnung.pdf", pdf_bytes())]},
    )
    assert response.status_code == 302
    assert application.documents.filter(kind="invoice").count() == 1

    assert alice_client.post(reverse("portal:withdraw", args=[application.pk]), {}).status_code == 400
    alice_client.post(reverse("portal:withdraw", args=[application.pk]), {"confirm": "on", "comment": "Verkauft"})
    application.refresh_from_db()
    assert application.state == "withdrawn"


def test_my_applications_lists_only_mine_in_a_fixed_number_of_queries(
    alice_client, people, programme, case, django_assert_num_queries
):
    case("submitted")
    make_application(programme=programme, applicant=people.alice, with_documents=False)
    make_application(programme=programme, applicant=people.bob, with_documents=False)
    # session, user, groups (is staff?), the applications with programme, municipality and property
    with django_assert_num_queries(4):
        response = alice_client.get(reverse("portal:applications"))
    assert response.content.decode().count("Fassadenprogramm Altstadt") == 2


def test_the_programme_page_checks_an_address_against_the_funding_area(client, programme):
    html = client.get(reverse("home"), {"street": "Hauptstr.", "house_number": "12a"}).content.decode()
    assert "liegt im Fördergebiet von" in html
    html = client.get(reverse("home"), {"street": "Hauptstraße", "house_number": "120"}).content.decode()
    assert "liegt in keinem Fördergebiet" in html
    assert "50 % der förderfähigen Kosten" in html and "höchstens 40,00 € Zuschuss je m²" in html


def test_a_new_application_is_only_for_an_open_programme(alice_client, programme):
    programme.closes_on = timezone.localdate().replace(year=2000)
    programme.opens_on = programme.closes_on
    programme.save()
    assert alice_client.get(reverse("portal:new", args=[programme.pk])).status_code == 404


def test_the_owner_answers_the_return_message_when_submitting_again(alice_client, people, case):
    application = case("submitted")
    services.application_return_to_applicant(
        application_id=application.pk, by=people.caseworker, comment="Bitte das Foto der Fassade nachreichen."
    )
    review = alice_client.get(reverse("portal:step_review", args=[application.pk])).content.decode()
    assert "Bitte das Foto der Fassade nachreichen." in review
    alice_client.post(
        reverse("portal:step_review", args=[application.pk]),
        {"confirm": "on", "comment": "Das Foto ist jetzt hochgeladen."},
    )
    application.refresh_from_db()
    assert application.state == "submitted"
    html = alice_client.get(reverse("portal:application", args=[application.pk])).content.decode()
    assert "Das Foto ist jetzt hochgeladen." in html


def test_where_the_programme_grades_its_caps_the_owner_names_the_building_category(alice_client, draft):
    from grants.models import ProgrammeComponentRule

    url = reverse("portal:step_measures", args=[draft.pk])
    assert "Gebäudekategorie" not in alice_client.get(url).content.decode()  # not graded: no question

    ProgrammeComponentRule.objects.filter(version__programme=draft.programme, component="facade").update(
        grant_cap_per_m2_special_value=Decimal("60.00")
    )
    page = alice_client.get(url).content.decode()
    assert "Fassade: Gebäudekategorie" in page and "Gebäude von besonderer Bedeutung" in page
    preview = alice_client.post(
        reverse("portal:measures_preview", args=[draft.pk]), {**MEASURES, "facade-category": "special_value"}
    ).content.decode()
    assert "10.800,00 €" in preview  # 60 € × 180 m² instead of 40 €

    assert alice_client.post(url, {**MEASURES, "facade-category": "special_value"}).status_code == 302
    draft.refresh_from_db()
    assert draft.components.get().category == "special_value" and draft.computed_grant == Decimal("10800.00")
    assert 'value="special_value" selected' in alice_client.get(url).content.decode()  # resumable as entered
    assert alice_client.post(url, {**MEASURES, "facade-category": "palace"}).status_code == 400
