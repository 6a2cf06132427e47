"""A picture of a PDF's first page for the application page, so a caseworker sees a quote without opening it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _

from core.views import workspace_view

from .models import Document
from .views import _application_or_404

PREVIEW_PIXELS = 360  # the longer side of the picture
PREVIEW_SECONDS = 15


def pdf_first_page_png(path: Path) -> bytes | None:
    """The first page as PNG, by poppler's pdftoppm; None when it is not installed or cannot read the file."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        return None
    with tempfile.TemporaryDirectory(prefix="foerderdesk-preview-") as folder:
        target = Path(folder) / "page"
        try:
            subprocess.run(
                [pdftoppm, "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to", str(PREVIEW_PIXELS)]
                + [str(path), str(target)],
                check=True,
                capture_output=True,
                timeout=PREVIEW_SECONDS,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            return None
        picture = target.with_suffix(".png")
        return picture.read_bytes() if picture.exists() else None


@workspace_view
def document_preview(request, pk: int):
    """The first page of a PDF document as a picture, for staff who may see its application."""
    document = Document.objects.filter(pk=pk).only("pk", "application_id", "file", "original_name").first()
    if document is None:
        raise Http404
    _application_or_404(request.user, document.application_id)
    if not document.original_name.lower().endswith(".pdf"):
        raise Http404(_("Nur PDF-Dateien haben eine Vorschau."))
    with tempfile.NamedTemporaryFile(suffix=".pdf") as copy:
        try:
            with document.file.open("rb") as stored:  # a copy: the storage may be remote (S3)
                shutil.copyfileobj(stored, copy)
        except (FileNotFoundError, ValueError):
            raise Http404(_("Die Datei fehlt.")) from None
        copy.flush()
        picture = pdf_first_page_png(Path(copy.name))
    if picture is None:
        raise Http404(_("Für diese Datei gibt es keine Vorschau."))
    response = HttpResponse(picture, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
