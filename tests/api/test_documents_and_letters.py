"""Documents handed in and letters fetched through the API, as a document management system or the owner would."""

import hashlib

import pytest

from grants.models import Document, GrantApplication, LetterKind

from ..factories import advance, make_application
from ..portal.conftest import image_bytes, pdf_bytes

State = GrantApplication.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(programme, people):
    return make_application(programme=programme, applicant=people.alice, with_documents=False)


def upload(client, application, name, content, kind="quote"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/api/applications/{application.pk}/documents/",
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def test_the_owner_uploads_a_quote_and_downloads_it_again(draft, people, api):
    content = pdf_bytes()
    response = upload(api(people.owner), draft, "angebot.pdf", content)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["kind"] == "quote" and data["original_name"] == "angebot.pdf"
    download = api(people.owner).get(data["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content


def test_the_owner_hands_in_an_einvoice_and_the_api_returns_what_it_read(case, people, api):
    from ..grants.test_einvoices import cii_xml, facturx_pdf

    approved = case("approved")
    response = upload(
        api(people.owner),
        approved,
        "rechnung.pdf",
        facturx_pdf(cii_xml(net="800.00", vat="152.00", gross="952.00", line="800.00")),
        kind="invoice",
    )

    assert response.status_code == 201, response.json()
    einvoice = response.json()["einvoice"]
    assert einvoice["number"] == "RE-2025-0042"
    assert (einvoice["net"], einvoice["vat"], einvoice["gross"]) == ("800.00", "152.00", "952.00")
    listed = api(people.caseworker).get(f"/api/applications/{approved.pk}/documents/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [d["einvoice"]["gross"] for d in rows if d["einvoice"]] == ["952.00"]


def test_a_file_that_is_not_what_it_claims_is_a_400_naming_it_and_nothing_is_stored(draft, people, api):
    response = upload(api(people.owner), draft, "angebot.pdf", b"<html><body>Angebot</body></html>")

    assert response.status_code == 400
    assert "„angebot.pdf“" in response.json()["detail"]
    assert not Document.objects.exists()


def test_an_unknown_kind_or_a_missing_file_is_a_400(draft, people, api):
    client = api(people.owner)
    assert upload(client, draft, "foto.png", image_bytes(), kind="selfie").status_code == 400
    response = client.post(f"/api/applications/{draft.pk}/documents/", {"kind": "quote"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["fields"]
    assert not Document.objects.exists()


def test_another_owner_gets_404_and_a_submitted_case_takes_no_more_quotes(draft, people, api):
    assert upload(api(people.other_owner), draft, "angebot.pdf", pdf_bytes()).status_code == 404

    advance(draft, State.SUBMITTED, people)
    response = upload(api(people.owner), draft, "angebot.pdf", pdf_bytes())
    assert response.status_code == 409
    assert "eingereicht" in response.json()["detail"]
    assert not Document.objects.exists()


def test_letters_are_listed_with_their_checksum_and_downloaded_as_stored(
    programme, allocation, people, api, django_capture_on_commit_callbacks
):
    application = make_application(programme=programme, applicant=people.alice)
    with django_capture_on_commit_callbacks(execute=True):
        advance(application, State.APPROVED, people)

    listing = api(people.owner).get(f"/api/applications/{application.pk}/letters/")
    assert listing.status_code == 200
    letters = listing.json()["results"]
    assert [letter["kind"] for letter in letters] == [LetterKind.RECEIPT, LetterKind.APPROVAL]
    approval = letters[1]
    download = api(people.caseworker).get(approval["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    body = b"".join(download.streaming_content)
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == approval["sha256"]
    assert download["X-Content-SHA256"] == approval["sha256"]

    assert api(people.other_owner).get(f"/api/applications/{application.pk}/letters/").status_code == 404
    assert api(people.foreign_caseworker).get(approval["download_url"]).status_code == 404


def test_a_letter_whose_file_is_gone_is_a_404_with_its_reason(
    programme, allocation, people, api, django_capture_on_commit_callbacks
):
    application = make_application(programme=programme, applicant=people.alice)
    with django_capture_on_commit_callbacks(execute=True):
        advance(application, State.SUBMITTED, people)
    letter = application.letters.get()
    letter.file.storage.delete(letter.file.name)

    response = api(people.owner).get(f"/api/applications/{application.pk}/letters/{letter.pk}/file/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Die Datei dieses Schreibens fehlt im Speicher."
