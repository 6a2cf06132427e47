import io

import pytest
from PIL import Image
from pypdf import PdfWriter

from tests.factories import make_application


def written(writer: PdfWriter) -> bytes:
    """The bytes of a PDF a test has built with pypdf."""
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_writer() -> PdfWriter:
    """A one-page A4 PDF to build on."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return writer


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_bytes(format: str = "PNG", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, format=format)
    return buffer.getvalue()


@pytest.fixture
def draft(programme, people):
    """Alice's draft: one façade measure (180 m², 42,000 € gross), no documents, consultation held."""
    return make_application(programme=programme, applicant=people.alice, with_documents=False)


@pytest.fixture
def alice_client(client, people):
    client.force_login(people.owner)
    return client
