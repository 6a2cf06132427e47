"""What an uploaded file really is: PDF, JPEG or PNG, judged by its content, never by its name.

A file is refused when it could do more than show a document: a PDF that runs JavaScript, starts a
program, carries other files or is an XFA form; an image that is also an archive or a web page, or
whose pixel count would flood the memory of whoever opens it.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError
from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from core.text import clean_line

from .einvoices import read_einvoice_pdf, read_einvoice_xml

PDF, JPEG, PNG, XML = "application/pdf", "image/jpeg", "image/png", "application/xml"
EXTENSION = {PDF: "pdf", JPEG: "jpg", PNG: "png", XML: "xml"}
# What a browser may show itself; anything else (an XML e-invoice) is only ever sent as a download.
INLINE = frozenset({PDF, JPEG, PNG})
CONTENT_TYPE = {extension: content_type for content_type, extension in EXTENSION.items()}
_SIGNATURES = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))

# Pillow's own limit for an image it opens without warning (about 89 megapixels); a phone camera makes 50.
MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS
# A scanned quote has a few thousand PDF objects; a file with more than this is not a quote.
_MAX_PDF_OBJECTS = 200_000

_JAVASCRIPT, _LAUNCH, _EMBEDDED, _XFA = "javascript", "launch", "embedded", "xfa"
# An embedded file in the document's name tree: the one thing an e-invoice (ZUGFeRD, Factur-X) needs.
_FILE = "file"
# PDF names by what they make a reader do; matched on pypdf's objects and, as a second net, on the raw bytes.
_DANGEROUS_NAMES = {
    "/JS": _JAVASCRIPT,
    "/JavaScript": _JAVASCRIPT,
    "/Launch": _LAUNCH,
    "/EmbeddedFiles": _FILE,
    "/EmbeddedFile": _FILE,
    "/FileAttachment": _EMBEDDED,
    "/RichMedia": _EMBEDDED,
    "/GoToE": _EMBEDDED,
    "/XFA": _XFA,
}
_PDF_NAME = re.compile(rb"/[^\x00\t\n\x0c\r /<>\[\]()%{}]+")
_PDF_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)
# Markup a browser would run if it ever took the image for a page (a polyglot).
_MARKUP = re.compile(rb"<(?:html|script|svg|body|iframe|object|embed|!doctype|\?php)[\s>/]", re.IGNORECASE)


def _refuse(name: str, why: str) -> ValidationError:
    return ValidationError(_("„%(name)s“: %(why)s") % {"name": name, "why": why}, code="content")


def _dangers_in(reader: PdfReader, counts: dict[str, int] | None = None) -> set[str]:
    """Every dangerous feature among the PDF's objects: those reachable from the catalog and every other one
    in its cross-reference table, so an action hidden in an unreferenced object is found too.

    counts, when given, is filled with the number of file specifications carrying a file ("/EF") and of
    embedded file streams found, whether referenced or not."""
    found: set[str] = set()
    counts = {} if counts is None else counts
    counts.update({"/EF": 0, "/EmbeddedFile": 0})
    pending: list = [reader.trailer]
    for generation, numbers in reader.xref.items():
        pending.extend(IndirectObject(number, generation, reader) for number in numbers)
    pending.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    seen: set[tuple[int, int]] = set()
    walked = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        walked += 1
        if walked > _MAX_PDF_OBJECTS:
            raise ValueError("too many objects")
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                if key in _DANGEROUS_NAMES:
                    found.add(_DANGEROUS_NAMES[key])
                if key == "/EF":  # a file specification carrying the file itself
                    found.add(_FILE)
                    counts["/EF"] += 1
                pending.append(value)
            if item.get("/Type") == "/EmbeddedFile":
                counts["/EmbeddedFile"] += 1
        elif isinstance(item, ArrayObject):
            pending.extend(item)
        elif isinstance(item, NameObject) and item in _DANGEROUS_NAMES:  # /S /JavaScript, /Subtype /FileAttachment …
            found.add(_DANGEROUS_NAMES[item])
    return found


def _dangers_in_bytes(data: bytes) -> set[str]:
    """The dangerous names written in the file outside its streams, escapes (#4A) resolved.

    Readers repair broken files differently; what pypdf did not reach another reader may still run.
    """
    found = set()
    for raw in _PDF_NAME.findall(_PDF_STREAM.sub(b" ", data)):
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        found.add(_DANGEROUS_NAMES.get(name.decode("latin-1")))
    found.discard(None)
    return found


def _check_pdf(file, name: str, *, einvoice: bool = False) -> None:
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
    counts: dict[str, int] = {}
    try:
        dangers = _dangers_in(reader, counts)
    except Exception:  # what pypdf cannot walk, nobody can vouch for
        why = _("Die PDF-Datei lässt sich nicht sicher prüfen. Bitte speichern Sie sie neu als PDF.")
        raise _refuse(name, why) from None
    file.seek(0)
    data = file.read()
    dangers |= _dangers_in_bytes(data)
    if einvoice and dangers == {_FILE} and counts == {"/EF": 1, "/EmbeddedFile": 1}:
        # The one embedded file an e-invoice carries; anything but a readable CII invoice under its
        # standard name raises here (grants.einvoices).
        read_einvoice_pdf(data, name)
        dangers.discard(_FILE)
    elif _FILE in dangers and not (einvoice and dangers - {_FILE, _EMBEDDED}):
        # For an invoice, a script or a form named first says more than the e-invoice it may carry.
        dangers.add(_EMBEDDED)
    refusals = {
        _JAVASCRIPT: _("Die PDF-Datei enthält JavaScript. Bitte laden Sie eine PDF-Datei ohne Skripte hoch."),
        _LAUNCH: _("Die PDF-Datei enthält eine Aktion, die ein Programm startet. Solche Dateien nehmen wir nicht an."),
        _EMBEDDED: _(
            "Die PDF-Datei enthält eingebettete Dateien (etwa eine E-Rechnung im ZUGFeRD-Format). "
            "Bitte laden Sie eine PDF-Datei ohne Anhänge hoch, z. B. über „Drucken als PDF“."
        ),
        _XFA: _("Die PDF-Datei ist ein XFA-Formular. Bitte speichern Sie es als gewöhnliche PDF-Datei."),
    }
    if einvoice:
        refusals[_EMBEDDED] = _(
            "Die PDF-Datei enthält eingebettete Dateien oder Anhänge. Eine E-Rechnung (ZUGFeRD, Factur-X) darf "
            "genau eine eingebettete Datei haben: die Rechnung als XML (factur-x.xml, zugferd-invoice.xml oder "
            "xrechnung.xml)."
        )
    for danger, why in refusals.items():
        if danger in dangers:
            raise _refuse(name, why)


def _check_image(file, name: str, expected: str) -> None:
    damaged = _("Das Bild ist beschädigt oder kein JPEG- bzw. PNG-Bild.")
    try:
        with warnings.catch_warnings():  # between one and two times the limit Pillow only warns; we refuse below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
        with image:
            found, (width, height) = image.format, image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _refuse(
                    name,
                    _("Das Bild hat %(width)s × %(height)s Bildpunkte; erlaubt sind höchstens %(limit)s Millionen.")
                    % {"width": width, "height": height, "limit": MAX_IMAGE_PIXELS // 1_000_000},
                )
            image.verify()
    except Image.DecompressionBombError:
        raise _refuse(
            name,
            _("Das Bild hat mehr Bildpunkte als erlaubt (höchstens %(limit)s Millionen).")
            % {"limit": MAX_IMAGE_PIXELS // 1_000_000},
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(name, damaged) from None
    if found != expected:
        raise _refuse(name, damaged)
    file.seek(0)
    if zipfile.is_zipfile(file):
        raise _refuse(name, _("Die Datei ist zugleich ein Bild und ein Archiv. Bitte laden Sie nur das Bild hoch."))
    file.seek(0)
    if _MARKUP.search(file.read()):
        raise _refuse(name, _("Die Datei enthält außer dem Bild eine Webseite oder ein Skript."))


def content_type_of(file, name: str, *, einvoice: bool = False) -> str:
    """The content type the file's bytes prove (PDF, JPEG or PNG); anything else raises ValidationError.

    With einvoice (an invoice being handed in), also a ZUGFeRD / Factur-X PDF whose one embedded file is
    the invoice's XML, and an XRechnung as XML (application/xml), each only when it reads as an invoice.
    """
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    try:
        for signature, content_type in _SIGNATURES:
            if head.startswith(signature):
                if content_type == PDF:
                    _check_pdf(file, name, einvoice=einvoice)
                else:
                    _check_image(file, name, "JPEG" if content_type == JPEG else "PNG")
                return content_type
        if einvoice and head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
            read_einvoice_xml(file.read(), name)
            return XML
    finally:
        file.seek(0)
    if einvoice:
        raise _refuse(
            name,
            _(
                "Erlaubt sind nur PDF-, JPEG- und PNG-Dateien sowie E-Rechnungen als XML (XRechnung); "
                "diese Datei ist keine davon."
            ),
        )
    raise _refuse(name, _("Erlaubt sind nur PDF-, JPEG- und PNG-Dateien; diese Datei ist keine davon."))


def named_for(original_name: str, content_type: str) -> str:
    """The owner's file name, made safe to show and to send in a header, with the extension its content
    calls for ("foto.pdf" holding a PNG → "foto.png").

    No folder, no control or direction-changing characters (NUL, line breaks, U+202E), no leading dots,
    at most 200 characters before the extension. The file is stored under a name of our own; this one
    is only shown and offered when downloading.
    """
    name = unicodedata.normalize("NFC", original_name or "")
    name = clean_line(name)  # the kernel's one cleaning of a single line (core.text)
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"\.{2,}", ".", " ".join(stem.split())).strip(". ")
    return f"{(stem[:200].rstrip('. ') or 'datei')}.{EXTENSION[content_type]}"


def served_content_type(stored_name: str) -> str | None:
    """The content type a stored document is sent with, from the extension we gave it; None for anything else."""
    extension = stored_name.rsplit(".", 1)[-1].lower() if "." in stored_name else ""
    return CONTENT_TYPE.get("jpg" if extension == "jpeg" else extension)
