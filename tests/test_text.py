"""Free texts lose control and bidirectional characters at one place (core.text), alike at every door;
the portal's limits are the API's."""

from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applicants.models import Applicant
from core.text import BIDI_CONTROLS, clean_line, clean_text
from grants.forms import NoteForm, StepForm
from grants.models import COMMENT_MAX_LENGTH, DESCRIPTION_MAX_LENGTH
from grants.serializers import GrantApplicationUpdateSerializer, TransitionSerializer
from portal.forms import ApplicantForm, MeasuresForm, SubmitForm

from .factories import make_application

HOSTILE = "Fassade\u202e gpj.exe\x07\x1b[31m rot\u2066\u2069\x00\x7f\x85 fertig"


def test_clean_text_removes_control_and_bidirectional_characters_and_keeps_lines_tabs_and_marks():
    assert clean_text(HOSTILE) == "Fassade gpj.exe[31m rot fertig"
    assert clean_text("Zeile 1\r\nZeile 2\rZeile 3\n\tEingerückt") == "Zeile 1\nZeile 2\nZeile 3\n\tEingerückt"
    assert clean_text("".join(BIDI_CONTROLS)) == ""
    # The marks that only steer neutral characters beside them stay: names in Arabic or Hebrew need them.
    assert clean_text("شارع\u200f 12\u200e\u061c") == "شارع\u200f 12\u200e\u061c"
    assert clean_text("Übergrößenträger ½ € 😀 Straße") == "Übergrößenträger ½ € 😀 Straße"


def test_clean_line_is_what_file_names_get():
    assert clean_line("a\u202eb\nc\x00d\u200fe") == "a b c d e"


def test_the_api_stores_free_texts_cleaned(programme, people):
    body = {
        "kind": "person",
        "standing": "owner",
        "name": "Alice\u202e Amsel\x07",
        "street": "Hauptstraße",
        "house_number": "12",
        "postcode": "12345",
        "city": "Muster\x1bstadt",
        "iban": "DE89370400440532013000",
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=people.owner)[0].key}")
    response = client.post("/api/applicants/", body, format="json")
    assert response.status_code == 201, response.json()
    applicant = Applicant.objects.get(pk=response.json()["id"])
    assert (applicant.name, applicant.city) == ("Alice Amsel", "Musterstadt")

    serializer = GrantApplicationUpdateSerializer(data={"description": HOSTILE}, partial=True)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["description"] == "Fassade gpj.exe[31m rot fertig"


def test_a_required_text_of_invisible_characters_only_is_blank_at_every_door():
    response_errors = TransitionSerializer(data={"comment": "\u202e\x07"})
    assert response_errors.is_valid()  # the comment of most steps is optional: it becomes ""
    assert response_errors.validated_data["comment"] == ""

    form = ApplicantForm({"kind": "person", "standing": "owner", "name": "\x07\u202e ", "iban": "x"})
    assert not form.is_valid() and "name" in form.errors
    assert not NoteForm({"text": "\u2066\u2069"}).is_valid()


def test_the_portal_and_the_workspace_keep_to_the_apis_limits():
    too_long = "x" * (DESCRIPTION_MAX_LENGTH + 1)
    form = MeasuresForm({"description": too_long, "facade-area": "180", "facade-net": "100"}, kinds=["facade"])
    assert not form.is_valid() and "description" in form.errors
    assert not GrantApplicationUpdateSerializer(data={"description": too_long}, partial=True).is_valid()
    at_the_limit = MeasuresForm(
        {"description": "x" * DESCRIPTION_MAX_LENGTH, "facade-area": "180", "facade-net": "100"}, kinds=["facade"]
    )
    assert at_the_limit.is_valid(), at_the_limit.errors

    comment = "x" * (COMMENT_MAX_LENGTH + 1)
    assert not SubmitForm({"comment": comment, "confirm": "on"}).is_valid()
    assert not StepForm({"comment": comment}).is_valid()
    assert not TransitionSerializer(data={"comment": comment}).is_valid()
    # A text area sends line breaks as CR LF; they count once, as the browser showed them.
    assert StepForm({"comment": "x\r\n" * (COMMENT_MAX_LENGTH // 2)}).is_valid()


def test_the_portal_saves_the_description_cleaned(client, people, programme):
    draft = make_application(programme=programme, applicant=people.alice, with_documents=False)
    client.force_login(people.owner)
    response = client.post(
        reverse("portal:step_measures", args=[draft.pk]),
        {"description": HOSTILE, "facade-area": "30", "facade-net": "2.200,00", "later": ""},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.description == "Fassade gpj.exe[31m rot fertig"
