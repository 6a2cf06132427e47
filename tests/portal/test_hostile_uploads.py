"""Hostile uploads: each trick an attacker might try is refused with a German reason and stores nothing.

The files are made here, with pypdf and Pillow, and go through the real upload path: the portal's
documents step (as the owner's browser sends them) or the service every door calls.
"""

import io
import struct
import zipfile
import zlib

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, get_resolver, resolve, reverse
from django.utils import translation
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

from grants.models import Document
from grants.services import document_upload

from .conftest import blank_writer, image_bytes, pdf_bytes, written

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _german():
    """The service is called without a request here; an earlier test's request may have left English active."""
    with translation.override("de"):
        yield


def upload(draft, user, name, content, kind="quote"):
    return document_upload(application_id=draft.pk, by=user, kind=kind, file=SimpleUploadedFile(name, content))


def _action(kind: str, **entries) -> DictionaryObject:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)})
    action.update({NameObject(f"/{key}"): TextStringObject(value) for key, value in entries.items()})
    return action


def _annotation(subtype: str, **entries) -> DictionaryObject:
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject(subtype),
            NameObject("/Rect"): ArrayObject([FloatObject(10), FloatObject(10), FloatObject(100), FloatObject(100)]),
        }
    )
    annotation.update({NameObject(key): value for key, value in entries.items()})
    return annotation


def pdf_with_document_javascript() -> bytes:
    writer = blank_writer()
    writer.add_open_action(JavaScript("app.alert('hallo');"))  # the catalog's /Names /JavaScript tree
    return written(writer)


def pdf_with_open_action_javascript() -> bytes:
    writer = blank_writer()
    writer._root_object[NameObject("/OpenAction")] = _action("/JavaScript", JS="app.launchURL('https://x.example');")
    return written(writer)


def pdf_with_page_open_action() -> bytes:
    writer = blank_writer()
    page_actions = DictionaryObject({NameObject("/O"): _action("/JavaScript", JS="this.print();")})
    writer.pages[0][NameObject("/AA")] = page_actions
    return written(writer)


def pdf_with_link_running_javascript() -> bytes:
    writer = blank_writer()
    link = _annotation("/Link", **{"/A": _action("/JavaScript", JS="app.alert(1)")})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    return written(writer)


def pdf_with_launch_action() -> bytes:
    writer = blank_writer()
    writer._root_object[NameObject("/OpenAction")] = _action("/Launch", F="C:\\Windows\\System32\\calc.exe")
    return written(writer)


def pdf_with_attachment() -> bytes:
    writer = blank_writer()
    writer.add_attachment("rechnung.exe", b"MZ\x90\x00")  # the catalog's /Names /EmbeddedFiles tree
    return written(writer)


def pdf_with_file_attachment_annotation() -> bytes:
    writer = blank_writer()
    spec = DictionaryObject({NameObject("/Type"): NameObject("/Filespec"), NameObject("/F"): TextStringObject("a.exe")})
    annotation = _annotation("/FileAttachment", **{"/FS": spec})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return written(writer)


def pdf_with_xfa_form() -> bytes:
    writer = blank_writer()
    form = DictionaryObject({NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): TextStringObject("<xdp/>")})
    writer._root_object[NameObject("/AcroForm")] = form
    return written(writer)


def pdf_with_escaped_names() -> bytes:
    """/J#61vaScript is /JavaScript to every reader; written by hand so no library normalises it."""
    data = pdf_bytes()
    return data.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>")


def pdf_with_unreferenced_javascript_after_the_end() -> bytes:
    """An object pypdf never reaches (after %%EOF, in no cross-reference table); a repairing reader may run it."""
    return pdf_bytes() + b"\n9 0 obj\n<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>\nendobj\n"


def pdf_pypdf_cannot_walk() -> bytes:
    """Pages readable, but an object nested deeper than pypdf can parse: what cannot be checked is refused."""
    return pdf_bytes().replace(b"/Producer (pypdf)", b"/Producer (pypdf) /X " + b"[" * 5000 + b"]" * 5000)


EMBEDDED = "Die PDF-Datei enthält eingebettete Dateien (etwa eine E-Rechnung im ZUGFeRD-Format)."
HOSTILE_PDFS = [
    (pdf_with_document_javascript, "Die PDF-Datei enthält JavaScript."),
    (pdf_with_open_action_javascript, "Die PDF-Datei enthält JavaScript."),
    (pdf_with_page_open_action, "Die PDF-Datei enthält JavaScript."),
    (pdf_with_link_running_javascript, "Die PDF-Datei enthält JavaScript."),
    (pdf_with_escaped_names, "Die PDF-Datei enthält JavaScript."),
    (pdf_with_unreferenced_javascript_after_the_end, "Die PDF-Datei enthält JavaScript."),
    (pdf_with_launch_action, "Die PDF-Datei enthält eine Aktion, die ein Programm startet."),
    (pdf_with_attachment, EMBEDDED),
    (pdf_with_file_attachment_annotation, EMBEDDED),
    (pdf_with_xfa_form, "Die PDF-Datei ist ein XFA-Formular."),
    (pdf_pypdf_cannot_walk, "Die PDF-Datei lässt sich nicht sicher prüfen."),
]


@pytest.mark.parametrize(("make", "reason"), HOSTILE_PDFS, ids=[make.__name__ for make, _ in HOSTILE_PDFS])
def test_a_pdf_that_does_more_than_show_a_document_is_refused(draft, people, make, reason):
    with pytest.raises(ValidationError) as refused:
        upload(draft, people.owner, "angebot.pdf", make())
    assert len(refused.value.messages) == 1
    assert refused.value.messages[0].startswith(f"„angebot.pdf“: {reason}")
    assert not draft.documents.exists()


def test_in_a_batch_each_hostile_pdf_is_named_and_the_clean_files_are_kept(draft, alice_client, settings):
    files = [SimpleUploadedFile("angebot-1.pdf", pdf_bytes())]
    files += [SimpleUploadedFile(f"{make.__name__}.pdf", make()) for make, _ in HOSTILE_PDFS]
    files += [SimpleUploadedFile("angebot-2.pdf", pdf_bytes(2))]
    response = alice_client.post(reverse("portal:step_documents", args=[draft.pk]), {"kind": "quote", "files": files})
    assert response.status_code == 400
    html = response.content.decode()
    for make, reason in HOSTILE_PDFS:
        assert f"„{make.__name__}.pdf“: {reason}" in html
    assert sorted(draft.documents.values_list("original_name", flat=True)) == ["angebot-1.pdf", "angebot-2.pdf"]
    stored = sorted(p.name for p in (settings.MEDIA_ROOT / "applications" / str(draft.pk)).iterdir())
    assert len(stored) == 2


def test_a_clean_pdf_with_links_and_a_form_still_passes(draft, people):
    writer = blank_writer()
    link = _annotation("/Link", **{"/A": _action("/URI", URI="https://www.musterstadt.de/foerderung")})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): ArrayObject()})
    assert upload(draft, people.owner, "angebot.pdf", written(writer)).original_name == "angebot.pdf"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header promises width × height pixels: opened naively, gigabytes of memory."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<script>alert(1)</script>")
    return buffer.getvalue()


HOSTILE_FILES = [
    ("foto.png", b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>", "beschädigt"),
    ("foto.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "Erlaubt sind nur PDF-, JPEG-"),
    ("foto.jpg", zip_bytes(), "Erlaubt sind nur PDF-, JPEG- und PNG-Dateien"),
    ("angebot.pdf", b"<!DOCTYPE html><html><body onload=alert(1)>Angebot</body></html>", "Erlaubt sind nur PDF-"),
    ("foto.jpg", image_bytes("JPEG") + zip_bytes(), "Die Datei ist zugleich ein Bild und ein Archiv."),
    ("foto.png", image_bytes() + b"<html><script>alert(1)</script></html>", "eine Webseite oder ein Skript"),
    ("riesig.png", png_claiming(10_000, 10_000), "Das Bild hat 10000 × 10000 Bildpunkte; erlaubt sind höchstens 89"),
    ("bombe.png", png_claiming(100_000, 100_000), "Das Bild hat mehr Bildpunkte als erlaubt (höchstens 89 Millionen)"),
]


@pytest.mark.parametrize(("name", "content", "reason"), HOSTILE_FILES)
def test_a_disguised_or_overblown_image_is_refused(draft, alice_client, name, content, reason):
    response = alice_client.post(
        reverse("portal:step_documents", args=[draft.pk]),
        {"kind": "photo_before", "files": [SimpleUploadedFile(name, content)]},
    )
    assert response.status_code == 400
    assert f"„{name}“: " in response.content.decode()
    assert reason in response.content.decode()
    assert not draft.documents.exists()
    assert not (settings.MEDIA_ROOT / "applications").exists()


def test_an_oversized_file_is_refused_before_it_is_stored(draft, alice_client, settings):
    settings.PORTAL_UPLOAD_MAX_FILE_BYTES = 2000
    response = alice_client.post(
        reverse("portal:step_documents", args=[draft.pk]),
        {"kind": "quote", "files": [SimpleUploadedFile("gross.pdf", pdf_bytes() + b" " * 2000)]},
    )
    assert response.status_code == 400
    assert "„gross.pdf“ ist" in response.content.decode()
    assert "erlaubt sind höchstens" in response.content.decode()
    assert not draft.documents.exists()
    assert not (settings.MEDIA_ROOT / "applications").exists()


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
        ("angebot\x00.exe\n.pdf", "angebot .exe.pdf"),
        ("rechnung\u202efdp.exe", "rechnung fdp.pdf"),
        ("...pdf", "datei.pdf"),
        ("a" * 300 + ".pdf", "a" * 200 + ".pdf"),
    ],
)
def test_the_owners_file_name_is_cleaned_and_the_stored_name_is_ours(draft, people, sent, shown):
    file = SimpleUploadedFile("x.pdf", pdf_bytes())
    file._name = sent  # as a client sends it, past the basename Django's UploadedFile applies
    document = document_upload(application_id=draft.pk, by=people.owner, kind="quote", file=file)
    assert document.original_name == shown
    folder, stored = document.file.name.rsplit("/", 1)
    assert folder == f"applications/{draft.pk}"
    assert stored.startswith("quote-") and stored.endswith(".pdf") and len(stored) == len("quote-") + 16 + 4
    assert (settings.MEDIA_ROOT / document.file.name).resolve().is_relative_to(settings.MEDIA_ROOT.resolve())


def test_a_traversal_name_through_the_portal_lands_in_the_applications_folder(draft, alice_client):
    response = alice_client.post(
        reverse("portal:step_documents", args=[draft.pk]),
        {"kind": "quote", "files": [SimpleUploadedFile("../../../config/settings.pdf", pdf_bytes())]},
    )
    assert response.status_code == 302
    document = draft.documents.get()
    assert document.original_name == "settings.pdf"
    assert document.file.name.startswith(f"applications/{draft.pk}/quote-")


def test_a_file_name_with_markup_is_shown_escaped(draft, alice_client, people):
    upload(draft, people.owner, "<img src=x onerror=alert(1)>.pdf", pdf_bytes())
    html = alice_client.get(reverse("portal:step_documents", args=[draft.pk])).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in html
    assert "<img src=x" not in html


def test_documents_are_sent_as_what_their_content_is_and_never_sniffed(draft, people, alice_client):
    pdf = upload(draft, people.owner, "angebot.pdf", pdf_bytes())
    photo = upload(draft, people.owner, "foto.jpg", image_bytes("JPEG"), kind="photo_before")
    for document, content_type in [(pdf, "application/pdf"), (photo, "image/jpeg")]:
        response = alice_client.get(reverse("portal:document", args=[document.pk]))
        assert response["Content-Type"] == content_type
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("inline")
    # A file that came in some other way (an old import, the shell) is only ever a download.
    other = Document.objects.create(application=draft, kind="quote", original_name="alt.pdf", uploaded_by=people.owner)
    other.file.save("seite.html", io.BytesIO(b"<script>alert(1)</script>"))
    response = alice_client.get(reverse("portal:document", args=[other.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def _patterns(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _patterns(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def test_uploaded_files_are_never_served_from_the_media_folder(draft, people, alice_client):
    document = upload(draft, people.owner, "angebot.pdf", pdf_bytes())
    from django.views import static

    assert not [route for route, view in _patterns(get_resolver()) if view is static.serve]
    with pytest.raises(Resolver404):
        resolve(f"/{settings.MEDIA_URL}{document.file.name}")
    assert alice_client.get(f"/{settings.MEDIA_URL}{document.file.name}").status_code == 404
    static_folders = [settings.STATIC_ROOT, *(f[1] if isinstance(f, tuple) else f for f in settings.STATICFILES_DIRS)]
    media = settings.MEDIA_ROOT.resolve()
    assert not [folder for folder in static_folders if media.is_relative_to(folder.resolve())]


def test_a_launch_action_whose_type_sits_behind_a_reference_is_found(draft, people):
    """/S 9 0 R, with object 9 the name /Launch: the kind of action is one indirection away."""
    writer = blank_writer()
    action = DictionaryObject(
        {
            NameObject("/S"): writer._add_object(NameObject("/Launch")),
            NameObject("/F"): TextStringObject("cmd.exe"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    with pytest.raises(ValidationError, match="eine Aktion, die ein Programm startet"):
        upload(draft, people.owner, "angebot.pdf", written(writer))
