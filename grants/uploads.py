"""What an uploaded file really is: PDF, JPEG or PNG, judged by its content, never by its name."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError
from pypdf import PasswordType, PdfReader

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
EXTENSION = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
_SIGNATURES = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))


def _refuse(name: str, why: str) -> ValidationError:
    return ValidationError(_("„%(name)s“: %(why)s") % {"name": name, "why": why}, code="content")


def _check_pdf(file, name: str) -> None:
    try:
        reader = PdfReader(file)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise _refuse(name, _("Die PDF-Datei ist mit einem Passwort geschützt. Bitte ohne Passwort hochladen."))
        pages = len(reader.pages)
    except ValidationError:
        raise
    except Exception:  # pypdf raises many kinds of errors on a broken file; each means the same here
        raise _refuse(name, _("Die Datei ist keine lesbare PDF-Datei.")) from None
    if pages == 0:
        raise _refuse(name, _("Die PDF-Datei hat keine Seiten."))


def _check_image(file, name: str, expected: str) -> None:
    try:
        with Image.open(file) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise _refuse(name, _("Das Bild ist beschädigt oder kein JPEG- bzw. PNG-Bild.")) from None
    if found != expected:
        raise _refuse(name, _("Das Bild ist beschädigt oder kein JPEG- bzw. PNG-Bild."))


def content_type_of(file, name: str) -> str:
    """The content type the file's bytes prove (PDF, JPEG or PNG); anything else raises ValidationError."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    try:
        for signature, content_type in _SIGNATURES:
            if head.startswith(signature):
                if content_type == PDF:
                    _check_pdf(file, name)
                else:
                    _check_image(file, name, "JPEG" if content_type == JPEG else "PNG")
                return content_type
    finally:
        file.seek(0)
    raise _refuse(name, _("Erlaubt sind nur PDF-, JPEG- und PNG-Dateien; diese Datei ist keine davon."))


def named_for(original_name: str, content_type: str) -> str:
    """The owner's file name with the extension its content calls for ("foto.pdf" holding a PNG → "foto.png")."""
    stem = original_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return f"{(stem or 'datei')[:200]}.{EXTENSION[content_type]}"
