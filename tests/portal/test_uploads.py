"""Uploads: PDF, JPEG and PNG by content, limits per file and per application, batches keep the good files."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.errors import Code, DomainError
from grants.models import Document
from grants.services import document_upload

from .conftest import image_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


def upload(draft, user, name, content, kind="quote"):
    return document_upload(application_id=draft.pk, by=user, kind=kind, file=SimpleUploadedFile(name, content))


def test_a_real_pdf_jpeg_and_png_are_kept(draft, people):
    for name, content in [("angebot.pdf", pdf_bytes()), ("foto.jpg", image_bytes("JPEG")), ("foto.png", image_bytes())]:
        document = upload(draft, people.owner, name, content)
        assert document.original_name == name
        assert document.uploaded_by == people.owner
        assert document.file.read() == content


def test_a_fake_pdf_with_a_jpeg_name_is_refused(draft, people):
    with pytest.raises(ValidationError, match="„scan.jpg“: Die Datei ist keine lesbare PDF-Datei."):
        upload(draft, people.owner, "scan.jpg", b"%PDF-1.4\n<script>alert(1)</script>\n" * 20)
    assert not draft.documents.exists()


def test_a_file_that_is_none_of_the_three_is_refused_whatever_its_name(draft, people):
    with pytest.raises(ValidationError, match="Erlaubt sind nur PDF-, JPEG- und PNG-Dateien"):
        upload(draft, people.owner, "angebot.pdf", b"<html><body>Angebot</body></html>")
    with pytest.raises(ValidationError, match="beschädigt"):
        upload(draft, people.owner, "foto.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100)


def test_a_png_renamed_pdf_is_kept_as_the_png_it_is(draft, people, alice_client):
    document = upload(draft, people.owner, "foto.pdf", image_bytes())
    assert document.original_name == "foto.png"
    assert document.file.name.endswith(".png")
    response = alice_client.get(reverse("portal:document", args=[document.pk]))
    assert response["Content-Type"] == "image/png"


def test_a_file_over_the_limit_is_refused(draft, people, settings):
    settings.PORTAL_UPLOAD_MAX_FILE_BYTES = 1000
    with pytest.raises(ValidationError) as refused:
        upload(draft, people.owner, "gross.pdf", pdf_bytes() + b" " * 1000)
    assert refused.value.messages[0].replace("\xa0", " ") == (
        "„gross.pdf“ ist 1,4 KB groß; erlaubt sind höchstens 1000 Bytes je Datei."
    )


def test_the_application_holds_no_more_than_its_limit(draft, people, settings):
    first = pdf_bytes()
    settings.PORTAL_UPLOAD_MAX_APPLICATION_BYTES = len(first) * 2 - 1
    upload(draft, people.owner, "eins.pdf", first)
    with pytest.raises(ValidationError, match="Zu einem Antrag sind höchstens"):
        upload(draft, people.owner, "zwei.pdf", first)
    assert draft.documents.count() == 1


def test_a_batch_with_one_bad_file_keeps_the_good_ones(draft, alice_client):
    response = alice_client.post(
        reverse("portal:step_documents", args=[draft.pk]),
        {
            "kind": "quote",
            "files": [
                SimpleUploadedFile("angebot-1.pdf", pdf_bytes()),
                SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf"),
                SimpleUploadedFile("angebot-2.pdf", pdf_bytes(2)),
            ],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "„virus.pdf“: Erlaubt sind nur PDF-, JPEG- und PNG-Dateien" in html
    assert sorted(draft.documents.values_list("original_name", flat=True)) == ["angebot-1.pdf", "angebot-2.pdf"]
    assert "angebot-2.pdf" in html  # the saved files are listed on the page that names the refused one


def test_only_the_owner_uploads_and_only_what_the_state_allows(draft, people, case):
    with pytest.raises(DomainError) as refused:
        upload(draft, people.other_owner, "a.pdf", pdf_bytes())
    assert refused.value.code == Code.NOT_FOUND
    with pytest.raises(DomainError):
        upload(draft, people.caseworker, "a.pdf", pdf_bytes())
    with pytest.raises(DomainError, match="Diese Art von Unterlage") as not_now:
        upload(draft, people.owner, "rechnung.pdf", pdf_bytes(), kind="invoice")
    assert not_now.value.status == 409

    submitted = case("submitted")
    with pytest.raises(DomainError, match="Im Status „eingereicht“ können Sie keine Unterlagen hochladen."):
        upload(submitted, people.owner, "nachtrag.pdf", pdf_bytes())

    approved = case("approved")
    with pytest.raises(DomainError, match="Diese Art von Unterlage"):
        upload(approved, people.owner, "angebot.pdf", pdf_bytes(), kind="quote")
    invoice = upload(approved, people.owner, "rechnung.pdf", pdf_bytes(), kind="invoice")
    assert invoice.kind == Document.Kind.INVOICE
    photo = upload(approved, people.owner, "nachher.jpg", image_bytes("JPEG"), kind="photo_after")
    assert photo.kind == Document.Kind.PHOTO_AFTER


def test_an_upload_whose_row_is_refused_leaves_no_file_behind(draft, people, settings, monkeypatch):
    from pathlib import Path

    from grants import services

    def refuse(instance):
        raise ValidationError("Die Datenbank hat die Zeile abgelehnt.")

    monkeypatch.setattr(services, "_validated", refuse)
    with pytest.raises(ValidationError):
        upload(draft, people.owner, "angebot.pdf", pdf_bytes())
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert stored == [] and not Document.objects.exists()
