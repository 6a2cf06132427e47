"""A case's stored files as downloads: letters and documents, for the workspace, the portal and the API."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from .models import Document, Letter
from .uploads import INLINE, served_content_type


def letter_response(letter: Letter) -> FileResponse:
    """The stored PDF/A as a download, with the SHA-256 recorded when it was made; 404 when the file is gone."""
    try:
        handle = letter.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404(_("Die Datei dieses Schreibens fehlt im Speicher.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=letter.file.name.rsplit("/", 1)[-1], content_type="application/pdf"
    )
    response["X-Content-SHA256"] = letter.sha256
    return response


def document_response(document: Document) -> FileResponse:
    """A document's file as the type its content was proven to be: PDF, JPEG and PNG shown in the browser,
    an XML e-invoice and anything else (a file that came in some other way) only as a download; never
    sniffed by the browser."""
    if not document.file:
        raise Http404(_("Die Datei wurde nach Ablauf der Aufbewahrungsfrist gelöscht."))
    content_type = served_content_type(document.file.name)
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404(_("Die Datei fehlt.")) from None
    response = FileResponse(
        handle,
        content_type=content_type or "application/octet-stream",
        as_attachment=content_type not in INLINE,
        filename=document.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
